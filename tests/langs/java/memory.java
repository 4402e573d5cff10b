import java.util.ArrayList;

// Keeps 1 MB arrays until 1 GB: past any limit the registry gives Java.
public class Main {
    public static void main(String[] args) {
        ArrayList<byte[]> kept = new ArrayList<>();
        for (int i = 0; i < 1024; i++) {
            byte[] block = new byte[1 << 20];
            for (int j = 0; j < block.length; j += 4096) block[j] = 1;
            kept.add(block);
        }
        System.out.println("kept " + kept.size() + " MB");
    }
}
