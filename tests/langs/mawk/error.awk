BEGIN {
    print "error: something went wrong" > "/dev/stderr"
    exit 3
}
