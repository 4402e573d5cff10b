s" error: something went wrong" stderr write-line throw
3 (bye)
