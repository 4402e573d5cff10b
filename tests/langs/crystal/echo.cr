# Copy standard input to standard output, byte for byte.
IO.copy(STDIN, STDOUT)
