rem Copy standard input to standard output, byte for byte.
repeat
    c = peek(#0)
    if c >= 0 then print chr$(c); : endif
until c < 0
