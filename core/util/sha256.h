// SHA-256 (FIPS 180-4) for compile-cache keys and token owners, computed by
// GNU Nettle. Only sha256.cpp includes Nettle; this header declares its
// context type and nothing else of it.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

// Nettle's context (<nettle/sha2.h>).
struct sha256_ctx;

namespace execd {

// One SHA-256 computation, fed piece by piece. Move-only: it owns a Nettle
// context; a moved-from object may only be destroyed or assigned to.
class Sha256 {
public:
    Sha256();
    Sha256(Sha256&&) noexcept = default;
    Sha256& operator=(Sha256&&) noexcept = default;

    // Feeds `data` as it is.
    void update(std::string_view data);
    // Feeds a length-prefixed field, so ("ab","c") and ("a","bc") differ.
    void field(std::string_view data);
    // The digest of everything fed since construction or the last finish();
    // the object then starts over on a new message.
    std::array<uint8_t, 32> finish();
    // finish(), as 64 lowercase hex digits.
    std::string hex();

private:
    struct ContextFree {
        void operator()(sha256_ctx* ctx) const noexcept;
    };
    std::unique_ptr<sha256_ctx, ContextFree> ctx_;
};

// The hex SHA-256 of `data`.
std::string sha256_hex(std::string_view data);

}  // namespace execd
