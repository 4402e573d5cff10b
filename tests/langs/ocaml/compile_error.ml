let () = print_endline ("hello" ^ 1
