// Keeps 1 MB vectors until 1 GB, each filled (zeroed memory would come untouched).
fn main() {
    let mut kept: Vec<Vec<u8>> = Vec::new();
    for i in 0..1024 {
        kept.push(vec![(i % 255 + 1) as u8; 1 << 20]);
    }
    println!("kept {} MB", kept.len());
}
