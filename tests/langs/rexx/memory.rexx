/* Keeps 1 MB strings until 1 GB. */
do i = 1 to 1024
  kept.i = copies(d2c(i // 255 + 1), 1048576)
end
say 'kept' i - 1 'MB'
