int main () {
    stderr.printf ("error: something went wrong\n");
    return 3;
}
