(format t "hello~%")
