# Keeps 1 MB strings until 1 GB.
kept = (1..1024).map { |i| (i % 255 + 1).chr * (1 << 20) }
puts "kept #{kept.size} MB"
