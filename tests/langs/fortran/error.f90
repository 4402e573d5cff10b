program main
  use iso_fortran_env, only: error_unit
  implicit none
  write (error_unit, '(a)') 'error: something went wrong'
  error stop 3
end program main
