#include <cstdlib>
#include <iostream>

int main() {
    std::cerr << "error: something went wrong" << std::endl;
    std::exit(3);
}
