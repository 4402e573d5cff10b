(* Keeps 1 MB byte strings until 1 GB, each filled. *)
let () =
  let kept = Array.init 1024 (fun i -> Bytes.make (1 lsl 20) (Char.chr (i mod 255 + 1))) in
  Printf.printf "kept %d MB\n" (Array.length kept)
