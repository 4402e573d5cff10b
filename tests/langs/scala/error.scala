object Main {
  def main(args: Array[String]): Unit = {
    System.err.println("error: something went wrong")
    sys.exit(3)
  }
}
