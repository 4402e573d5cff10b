; x86-64 Linux: write(1, msg, len), then exit(0).
global _start

section .data
msg:    db "hello", 10
len:    equ $ - msg

section .text
_start:
    mov rax, 1          ; write
    mov rdi, 1
    lea rsi, [rel msg]
    mov rdx, len
    syscall
    mov rax, 60         ; exit
    xor rdi, rdi
    syscall
