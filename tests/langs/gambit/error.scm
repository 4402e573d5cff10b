(display "error: something went wrong\n" (current-error-port))
(exit 3)
