class Main {
    static function main() {
        Sys.stderr().writeString("error: something went wrong\n");
        Sys.exit(3);
    }
}
