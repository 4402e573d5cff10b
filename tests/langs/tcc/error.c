#include <stdio.h>
#include <stdlib.h>

int main(void) {
    fprintf(stderr, "error: something went wrong\n");
    exit(3);
}
