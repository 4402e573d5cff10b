fn main() {
    eprintln!("error: something went wrong");
    std::process::exit(3);
}
