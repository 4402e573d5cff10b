fun loop () = loop ();
val () = loop ();
