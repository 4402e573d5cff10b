// Copy standard input to standard output, byte for byte.
fun main() {
    System.`in`.copyTo(System.out)
    System.out.flush()
}
