rem Doubles a string 30 times, to 1 GB.
a$ = "x"
for i = 1 to 30
  a$ = a$ + a$
next i
print "kept ", len(a$)
