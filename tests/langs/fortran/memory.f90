! Keeps 1 MB blocks until 1 GB, each filled.
program memory
    implicit none
    type block
        character(len=1), allocatable :: bytes(:)
    end type block
    type(block) :: kept(1024)
    integer :: i
    do i = 1, 1024
        allocate(kept(i)%bytes(1048576))
        kept(i)%bytes = achar(mod(i, 255) + 1)
    end do
    print '(a, i0, a)', 'kept ', size(kept), ' MB'
end program memory
