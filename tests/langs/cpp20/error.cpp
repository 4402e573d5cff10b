#include <cstdlib>
#include <iostream>
#include <source_location>

int main() {
    std::cerr << "error: something went wrong at line " << std::source_location::current().line() << std::endl;
    std::exit(3);
}
