# Doubles a string 30 times, to 1 GB.
s=x
for ((i = 0; i < 30; i++)); do s=$s$s; done
echo "kept ${#s}"
