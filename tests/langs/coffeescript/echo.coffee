# Copy standard input to standard output, byte for byte.
process.stdout.write require("fs").readFileSync(0)
