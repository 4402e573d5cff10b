#include <stdio.h>

/* Adds in int: 10^9 + 10^9 overflows. */
int main(void) {
    int a, b;
    if (scanf("%d %d", &a, &b) != 2) return 1;
    printf("%d\n", a + b);
    return 0;
}
