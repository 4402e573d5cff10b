STDERR.puts "error: something went wrong"
exit 3
