#import <objc/runtime.h>
#include <stdio.h>
#include <stdlib.h>

@interface Failure
+ (void)failWith:(int)status;
@end

@implementation Failure
+ (void)failWith:(int)status {
    fprintf(stderr, "error: something went wrong\n");
    exit(status);
}
@end

int main(void) {
    [Failure failWith:3];
    return 0;
}
