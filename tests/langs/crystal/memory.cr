# Keeps 1 MB slices until 1 GB, each filled.
kept = [] of Bytes
1024.times do |i|
  kept << Bytes.new(1 << 20, (i % 255 + 1).to_u8)
end
puts "kept #{kept.size} MB"
