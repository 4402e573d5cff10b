// Keeps 1 MB byte buffers until 1 GB, each filled.
class Main {
    static function main() {
        var kept = [];
        for (i in 0...1024) {
            var block = haxe.io.Bytes.alloc(1 << 20);
            block.fill(0, block.length, i % 255 + 1);
            kept.push(block);
        }
        Sys.println("kept " + kept.length + " MB");
    }
}
