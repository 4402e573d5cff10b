; Copy stdin to stdout, byte for byte: read(0, buf, 4096) until it returns 0.
global _start

section .bss
buf:    resb 4096

section .text
_start:
.next:
    mov rax, 0          ; read
    mov rdi, 0
    lea rsi, [rel buf]
    mov rdx, 4096
    syscall
    test rax, rax
    jle .done
    mov rdx, rax        ; write what was read
    mov rax, 1
    mov rdi, 1
    lea rsi, [rel buf]
    syscall
    jmp .next
.done:
    mov rax, 60         ; exit(0)
    xor rdi, rdi
    syscall
