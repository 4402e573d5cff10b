message("error: something went wrong")
quit(status = 3)
