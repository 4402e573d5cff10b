void main() {
    shared int n;
    while (true) {
        n = n + 1;
    }
}
