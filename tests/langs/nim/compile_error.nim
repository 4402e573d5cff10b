echo "hello" & 
let x: int = "a"
