// Keeps 1 MB blocks until 1 GB, each written (an untouched page costs nothing).
#import <objc/runtime.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

@interface Keeper
+ (char *)block:(int)fill;
@end

@implementation Keeper
+ (char *)block:(int)fill {
    char *bytes = malloc(1 << 20);
    if (bytes) memset(bytes, fill, 1 << 20);
    return bytes;
}
@end

int main(void) {
    static char *kept[1024];
    for (int i = 0; i < 1024; i++)
        if (!(kept[i] = [Keeper block:i % 255 + 1])) return 2;
    printf("kept %d MB\n", 1024);
    return 0;
}
