import kotlin.system.exitProcess

fun main() {
    System.err.println("error: something went wrong")
    exitProcess(3)
}
