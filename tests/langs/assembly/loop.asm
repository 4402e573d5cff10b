; A busy loop: jump to itself.
global _start

section .text
_start:
    jmp _start
