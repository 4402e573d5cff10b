#import <objc/runtime.h>
#include <stdio.h>

@interface Greeter
+ (void)greet:(const char *)word;
@end

@implementation Greeter
+ (void)greet:(const char *)word {
    printf("%s\n", word);
}
@end

int main(void) {
    [Greeter greet:"hello"];
    return 0;
}
