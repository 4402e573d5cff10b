/* Keeps 1 MB blocks until 1 GB, each written (an untouched page costs nothing). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(void) {
    static char* kept[1024];
    for (int i = 0; i < 1024; i++) {
        kept[i] = malloc(1 << 20);
        if (!kept[i]) return 2;
        memset(kept[i], i, 1 << 20);
    }
    printf("kept %d MB\n", 1024);
    return 0;
}
