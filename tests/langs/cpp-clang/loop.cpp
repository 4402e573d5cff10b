// A busy loop the optimiser keeps: the counter is volatile.
int main() {
    volatile unsigned long n = 0;
    for (;;) n = n + 1;
}
