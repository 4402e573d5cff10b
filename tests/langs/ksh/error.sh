echo "error: something went wrong" >&2
exit 3
