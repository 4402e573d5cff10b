# Keeps 1 MB strings until 1 GB.
my @kept = map { chr($_ % 255 + 1) x (1 << 20) } 1 .. 1024;
print "kept ", scalar(@kept), " MB\n";
