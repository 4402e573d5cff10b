(print "hello")
