#lang racket/base
;; Keeps 1 MB byte strings until 1 GB, each filled.
(define kept (for/list ([i 1024]) (make-bytes (expt 2 20) (add1 (modulo i 255)))))
(printf "kept ~a MB\n" (length kept))
