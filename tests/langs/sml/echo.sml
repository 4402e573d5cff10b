(* Copy standard input to standard output, byte for byte. *)
val () = print (TextIO.inputAll TextIO.stdIn);
