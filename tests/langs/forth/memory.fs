\ Allocates 1 MB blocks until 1 GB, each filled; none is freed.
: keep ( -- )
  1024 0 do
    1048576 allocate throw  1048576 i 255 mod 1+ fill
  loop ;
keep ." kept 1024 MB" cr bye
