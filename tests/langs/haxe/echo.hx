// Copy standard input to standard output, byte for byte.
class Main {
    static function main() {
        var out = Sys.stdout();
        out.write(Sys.stdin().readAll());
        out.flush();
    }
}
