# Keeps 1 MB sequences until 1 GB, each filled.
var kept: seq[seq[byte]]
for i in 0 ..< 1024:
  var blk = newSeq[byte](1 shl 20)
  for j in countup(0, blk.high, 4096):
    blk[j] = byte(i mod 255 + 1)
  kept.add blk
echo "kept ", kept.len, " MB"
