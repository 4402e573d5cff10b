int main () {
    stdout.printf ("hello\n")
    return 0;
}
