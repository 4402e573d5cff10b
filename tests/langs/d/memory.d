// Keeps 1 MB arrays until 1 GB, each filled.
import std.stdio;

void main() {
    ubyte[][] kept;
    foreach (i; 0 .. 1024) {
        auto block = new ubyte[1 << 20];
        block[] = cast(ubyte)(i | 1);
        kept ~= block;
    }
    writeln("kept ", kept.length, " MB");
}
