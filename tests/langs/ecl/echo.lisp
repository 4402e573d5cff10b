;; Copy standard input to standard output, byte for byte.
(loop for c = (read-char *standard-input* nil)
      while c
      do (write-char c))
(finish-output)
