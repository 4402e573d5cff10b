! Formatted Fortran I/O cannot tell whether the last line ended with a
! newline, so copy raw bytes with read(2)/write(2) through ISO_C_BINDING.
program main
  use iso_c_binding, only: c_int, c_size_t, c_long, c_char
  implicit none
  interface
    function c_read(fd, buf, n) bind(c, name='read') result(r)
      import :: c_int, c_size_t, c_long, c_char
      integer(c_int), value :: fd
      character(kind=c_char) :: buf(*)
      integer(c_size_t), value :: n
      integer(c_long) :: r
    end function c_read
    function c_write(fd, buf, n) bind(c, name='write') result(r)
      import :: c_int, c_size_t, c_long, c_char
      integer(c_int), value :: fd
      character(kind=c_char) :: buf(*)
      integer(c_size_t), value :: n
      integer(c_long) :: r
    end function c_write
  end interface
  character(kind=c_char) :: buf(4096)
  integer(c_long) :: n, w, off
  do
    n = c_read(0_c_int, buf, int(size(buf), c_size_t))
    if (n <= 0) exit
    off = 0
    do while (off < n)
      w = c_write(1_c_int, buf(off + 1:), int(n - off, c_size_t))
      if (w <= 0) stop 1
      off = off + w
    end do
  end do
end program main
