IO.puts(:stderr, "error: something went wrong")
System.halt(3)
