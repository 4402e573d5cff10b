// Keeps 1 MB arrays until 1 GB: past any limit the registry gives Kotlin.
fun main() {
    val kept = ArrayList<ByteArray>()
    for (i in 0 until 1024) {
        val block = ByteArray(1 shl 20)
        for (j in 0 until block.size step 4096) block[j] = 1
        kept.add(block)
    }
    println("kept ${kept.size} MB")
}
