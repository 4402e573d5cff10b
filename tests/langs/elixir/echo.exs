# Copy standard input to standard output, byte for byte.
:ok = :io.setopts(:standard_io, binary: true)
IO.binstream(:stdio, 4096) |> Enum.each(&IO.binwrite/1)
