// Copy standard input to standard output, byte for byte.
int main () {
    uint8 buffer[4096];
    size_t n;
    while ((n = stdin.read (buffer)) > 0) {
        stdout.write (buffer[0:n]);
    }
    stdout.flush ();
    return 0;
}
