using System;

public class Program
{
    public static void Main()
    {
        using (var input = Console.OpenStandardInput())
        using (var output = Console.OpenStandardOutput())
        {
            input.CopyTo(output);
        }
    }
}
