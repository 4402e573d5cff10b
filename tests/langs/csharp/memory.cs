using System;
using System.Collections.Generic;

// Keeps 1 MB arrays until 1 GB: past any limit the registry gives C#.
class Program {
    static void Main() {
        var kept = new List<byte[]>();
        for (int i = 0; i < 1024; i++) {
            var block = new byte[1 << 20];
            for (int j = 0; j < block.Length; j += 4096) block[j] = 1;
            kept.Add(block);
        }
        Console.WriteLine("kept " + kept.Count + " MB");
    }
}
