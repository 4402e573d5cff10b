(loop for c = (read-char *standard-input* nil)
      while c
      do (write-char c))
(finish-output)
