(* Keeps 1 MB byte arrays until 1 GB, each filled. *)
val kept = List.tabulate (1024, fn i => Word8Array.array (1048576, Word8.fromInt (i mod 255 + 1)));
print ("kept " ^ Int.toString (length kept) ^ " MB\n");
