// Keeps 1 MB strings until 1 GB.
int main() {
    array(string) kept = ({});
    for (int i = 0; i < 1024; i++) kept += ({ sprintf("%c", i % 255 + 1) * (1 << 20) });
    write("kept %d MB\n", sizeof(kept));
    return 0;
}
