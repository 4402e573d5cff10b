# Copy standard input to standard output, byte for byte.
$*OUT.write: $*IN.slurp(:bin);
