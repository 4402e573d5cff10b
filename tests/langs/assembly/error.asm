; write(2, msg, len), then exit(3).
global _start

section .data
msg:    db "error: something went wrong", 10
len:    equ $ - msg

section .text
_start:
    mov rax, 1
    mov rdi, 2
    lea rsi, [rel msg]
    mov rdx, len
    syscall
    mov rax, 60
    mov rdi, 3
    syscall
