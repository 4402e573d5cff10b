public class Main {
    public static void main(String[] args) {
        System.err.println("error: something went wrong");
        System.exit(3);
    }
}
