/* A busy loop the optimiser keeps: the counter is volatile. */
int main(void) {
    volatile unsigned long n = 0;
    for (;;) n++;
}
