// Appends a filled 1 MB block to one byte array until it holds 1 GB.
void main () {
    var kept = new GLib.ByteArray ();
    var block = new uint8[1 << 20];
    for (int i = 0; i < 1024; i++) {
        Memory.set (block, i % 255 + 1, block.length);
        kept.append (block);
    }
    print ("kept %u MB\n", kept.len >> 20);
}
