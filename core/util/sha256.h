// SHA-256 (FIPS 180-4) for compile-cache keys and token owners, computed by
// OpenSSL's libcrypto (its EVP digest interface). Only sha256.cpp includes
// OpenSSL; this header declares its context type and nothing else of it.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

// OpenSSL's EVP_MD_CTX (`typedef struct evp_md_ctx_st EVP_MD_CTX` in <openssl/types.h>).
struct evp_md_ctx_st;

namespace execd {

// One SHA-256 computation, fed piece by piece. Move-only: it owns an OpenSSL
// digest context; a moved-from object may only be destroyed or assigned to.
// Every member that calls libcrypto throws std::runtime_error naming the
// OpenSSL call and OpenSSL's reason if it fails (out of memory, or an OpenSSL
// configuration that offers no SHA-256).
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
        void operator()(evp_md_ctx_st* ctx) const noexcept;
    };
    std::unique_ptr<evp_md_ctx_st, ContextFree> ctx_;
};

// The hex SHA-256 of `data`. Throws what Sha256 throws.
std::string sha256_hex(std::string_view data);

}  // namespace execd
