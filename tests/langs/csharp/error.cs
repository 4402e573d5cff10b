using System;

public class Program
{
    public static void Main()
    {
        Console.Error.WriteLine("error: something went wrong");
        Environment.Exit(3);
    }
}
