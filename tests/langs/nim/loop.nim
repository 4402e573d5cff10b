var n {.volatile.} = 0
while true:
  n = n + 1
