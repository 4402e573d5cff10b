process.stderr.write "error: something went wrong\n"
process.exit 3
