io.stderr:write("error: something went wrong\n")
os.exit(3)
