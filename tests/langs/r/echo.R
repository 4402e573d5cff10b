# readLines() would drop the information whether the last line ended with a
# newline, so copy raw bytes.
input <- file("stdin", open = "rb")
output <- stdout()
repeat {
  chunk <- readBin(input, what = "raw", n = 65536)
  if (length(chunk) == 0) break
  cat(rawToChar(chunk), file = output)
}
close(input)
