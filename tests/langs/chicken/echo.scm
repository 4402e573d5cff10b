;; Copy standard input to standard output, byte for byte.
(import (chicken io))
(let loop ((chunk (read-string 4096)))
  (unless (eof-object? chunk)
    (write-string chunk)
    (loop (read-string 4096))))
