val () = TextIO.output (TextIO.stdErr, "error: something went wrong\n");
val () = TextIO.flushOut TextIO.stdErr;
val _ = Posix.Process.exit (Word8.fromInt 3);
