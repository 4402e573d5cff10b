;; Keeps 1 MB byte vectors until 1 GB, each filled.
(import srfi-4)
(define kept
  (let loop ((i 0) (acc '()))
    (if (= i 1024) acc (loop (+ i 1) (cons (make-u8vector 1048576 (+ 1 (modulo i 255))) acc)))))
(print "kept " (length kept) " MB")
