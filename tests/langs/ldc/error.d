import core.stdc.stdlib : exit;
import std.stdio;

void main()
{
    stderr.writeln("error: something went wrong");
    exit(3);
}
