// Keeps 1 MB vectors until 1 GB, each filled (an untouched page costs nothing).
#include <iostream>
#include <vector>

int main() {
    std::vector<std::vector<char>> kept;
    for (int i = 0; i < 1024; i++) kept.emplace_back(1 << 20, static_cast<char>(i | 1));
    std::cout << "kept " << kept.size() << " MB\n";
}
