// C++20: designated initializers, std::span, a concept and ranges.
#include <concepts>
#include <iostream>
#include <ranges>
#include <span>
#include <string_view>

struct Greeting {
    std::string_view word;
    int times;
};

template <std::integral T>
T twice(T n) { return n * 2; }

int main() {
    constexpr Greeting g{.word = "hello", .times = 1};
    const char letters[] = {'h', 'e', 'l', 'l', 'o'};
    std::span<const char> all(letters);
    auto kept = all | std::views::take(5);
    if (std::string_view(kept.begin(), kept.end()) != g.word || twice(g.times) != 2) return 1;
    std::cout << g.word << '\n';
    return 0;
}
