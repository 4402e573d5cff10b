# Copy standard input to standard output, byte for byte: a record
# separator that is never in the input makes it one record, and RT is
# not needed because nothing follows it.
BEGIN { RS = "\001\002\003"; ORS = "" }
{ printf "%s", $0 }
