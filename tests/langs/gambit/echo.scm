;; Copy standard input to standard output, byte for byte.
(let loop ((c (read-char)))
  (if (not (eof-object? c))
      (begin (write-char c) (loop (read-char)))))
