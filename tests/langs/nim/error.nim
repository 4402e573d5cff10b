stderr.writeLine("error: something went wrong")
quit(3)
