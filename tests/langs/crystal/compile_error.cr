puts "hello"
puts(1 +)
