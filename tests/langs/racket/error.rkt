#lang racket/base
(eprintf "error: something went wrong\n")
(exit 3)
