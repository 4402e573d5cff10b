# Keeps 1 MB buffers until 1 GB, each filled.
my @kept = (^1024).map: { buf8.allocate(1 +< 20, $_ % 255 + 1) };
say "kept {+@kept} MB";
