# Doubles a string 30 times, to 1 GB.
BEGIN {
    s = "x"
    for (i = 0; i < 30; i++) s = s s
    print "kept", length(s)
}
