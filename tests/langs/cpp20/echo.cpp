#include <iostream>
#include <iterator>
#include <span>
#include <string>

int main() {
    std::ios::sync_with_stdio(false);
    const std::string all{std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>()};
    std::span<const char> bytes(all);
    std::cout.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    return 0;
}
