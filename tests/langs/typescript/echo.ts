// Copy standard input to standard output, byte for byte.
const input: Uint8Array = require("fs").readFileSync(0);
process.stdout.write(input);
