(print "hello"
