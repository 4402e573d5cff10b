// Keeps 1 MB arrays until 1 GB: past any limit the registry gives Scala.
object Main {
  def main(args: Array[String]): Unit = {
    val kept = scala.collection.mutable.ArrayBuffer[Array[Byte]]()
    for (i <- 0 until 1024) {
      val block = new Array[Byte](1 << 20)
      for (j <- 0 until block.length by 4096) block(j) = 1
      kept += block
    }
    println("kept " + kept.size + " MB")
  }
}
