fun main() {
    println("hello"
}
