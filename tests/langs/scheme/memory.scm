;; Keeps 1 MB bytevectors until 1 GB, each filled.
(use-modules (rnrs bytevectors))
(define kept
  (let loop ((i 0) (acc '()))
    (if (= i 1024) acc (loop (+ i 1) (cons (make-bytevector 1048576 (+ 1 (modulo i 255))) acc)))))
(display "kept ") (display (length kept)) (display " MB") (newline)
