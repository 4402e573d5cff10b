let () =
  prerr_endline "error: something went wrong";
  exit 3
