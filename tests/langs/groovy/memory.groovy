// Keeps 1 MB arrays until 1 GB: past any limit the registry gives Groovy.
def kept = []
for (int i = 0; i < 1024; i++) {
    byte[] block = new byte[1 << 20]
    for (int j = 0; j < block.length; j += 4096) block[j] = 1
    kept << block
}
println "kept ${kept.size()} MB"
