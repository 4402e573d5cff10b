; x86-64 Linux: map 1 GB and write a byte to each of its pages, then exit(0).
global _start

section .text
_start:
    mov rax, 9          ; mmap(NULL, 1 GB, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0)
    xor rdi, rdi
    mov rsi, 1 << 30
    mov rdx, 3
    mov r10, 0x22
    mov r8, -1
    xor r9, r9
    syscall
    test rax, rax
    js failed
    mov rcx, 1 << 18    ; pages
touch:
    mov byte [rax], 1
    add rax, 4096
    dec rcx
    jnz touch
    mov rax, 60         ; exit(0)
    xor rdi, rdi
    syscall
failed:
    mov rax, 60         ; exit(2)
    mov rdi, 2
    syscall
