// SHA-256 (FIPS 180-4), for compile-cache keys.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace execd {

class Sha256 {
public:
    Sha256();
    void update(std::string_view data);
    // Feeds a length-prefixed field, so ("ab","c") and ("a","bc") differ.
    void field(std::string_view data);
    std::array<uint8_t, 32> finish();
    // The digest as 64 lowercase hex digits.
    std::string hex();

private:
    void block(const uint8_t* p);
    std::array<uint32_t, 8> h_;
    std::array<uint8_t, 64> buf_{};
    size_t used_ = 0;
    uint64_t total_ = 0;
};

// The hex SHA-256 of `data`.
std::string sha256_hex(std::string_view data);

}  // namespace execd
