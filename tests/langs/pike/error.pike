int main() {
    werror("error: something went wrong\n");
    return 3;
}
