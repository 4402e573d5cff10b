// Copy standard input to standard output, byte for byte.
int main() {
    write(Stdio.stdin->read());
    return 0;
}
