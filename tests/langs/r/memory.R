# Keeps 1 MB vectors of doubles until 1 GB, each filled.
kept <- lapply(1:1024, function(i) rep(as.double(i), 131072))
cat("kept", length(kept), "MB\n")
