#import <objc/runtime.h>
#include <stdio.h>

@interface Copier
+ (void)copyFrom:(FILE *)source to:(FILE *)sink;
@end

@implementation Copier
+ (void)copyFrom:(FILE *)source to:(FILE *)sink {
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, source)) > 0)
        fwrite(buf, 1, n, sink);
}
@end

int main(void) {
    [Copier copyFrom:stdin to:stdout];
    return 0;
}
