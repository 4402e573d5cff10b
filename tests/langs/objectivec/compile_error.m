#include <stdio.h>

@interface Greeter
+ (void)greet;
@end

int main(void) {
    puts("hello")
    return 0;
}
