open #1, "/dev/stderr", "w"
print #1 "error: something went wrong"
exit 3
