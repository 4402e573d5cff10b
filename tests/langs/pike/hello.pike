int main() {
    write("hello\n");
    return 0;
}
