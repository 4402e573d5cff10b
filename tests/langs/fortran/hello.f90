program main
  implicit none
  print '(a)', 'hello'
end program main
