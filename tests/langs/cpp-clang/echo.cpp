#include <iostream>
#include <iterator>

int main() {
    std::ios::sync_with_stdio(false);
    std::copy(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>(),
              std::ostreambuf_iterator<char>(std::cout));
    return 0;
}
