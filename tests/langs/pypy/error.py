import sys

print("error: something went wrong", file=sys.stderr)
sys.exit(3)
