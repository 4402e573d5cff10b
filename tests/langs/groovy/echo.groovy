// Copy standard input to standard output, byte for byte.
System.out << System.in
System.out.flush()
