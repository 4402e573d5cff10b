<?php
// Keeps 1 MB strings until 1 GB.
$kept = [];
for ($i = 0; $i < 1024; $i++) $kept[] = str_repeat(chr($i % 255 + 1), 1 << 20);
echo "kept ", count($kept), " MB\n";
