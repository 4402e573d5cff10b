program main
  implicit none
  integer, volatile :: n
  n = 0
  do
    n = n + 1
  end do
end program main
