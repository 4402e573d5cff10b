// SHA-256 through OpenSSL's EVP digest interface. The digest keys the compile
// cache, whose entries every job may run: it is a security boundary, so it is
// computed by a maintained, tested implementation rather than one of our own.
#include "util/sha256.h"

#include <openssl/err.h>
#include <openssl/evp.h>

#include <stdexcept>

namespace execd {
namespace {

// Throws for a failed libcrypto call, with the reason OpenSSL queued.
[[noreturn]] void throw_openssl(const char* call) {
    std::string message = std::string(call) + "(SHA-256) failed";
    if (unsigned long code = ERR_get_error(); code != 0) {
        char reason[256];
        ERR_error_string_n(code, reason, sizeof reason);
        message += ": ";
        message += reason;
    }
    ERR_clear_error();  // what else was queued would be blamed on a later call
    throw std::runtime_error(message);
}

void start(EVP_MD_CTX* ctx) {
    if (EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr) != 1) throw_openssl("EVP_DigestInit_ex");
}

}  // namespace

void Sha256::ContextFree::operator()(evp_md_ctx_st* ctx) const noexcept { EVP_MD_CTX_free(ctx); }

Sha256::Sha256() : ctx_(EVP_MD_CTX_new()) {
    if (!ctx_) throw_openssl("EVP_MD_CTX_new");
    start(ctx_.get());
}

void Sha256::update(std::string_view data) {
    if (EVP_DigestUpdate(ctx_.get(), data.data(), data.size()) != 1) throw_openssl("EVP_DigestUpdate");
}

void Sha256::field(std::string_view data) {
    // A fixed-width length first makes the encoding of a sequence of fields
    // injective: no two different sequences feed the same bytes. The length
    // is little-endian, whatever the host, so keys stay the same everywhere.
    uint64_t len = data.size();
    char prefix[8];
    for (char& c : prefix) {
        c = static_cast<char>(len & 0xff);
        len >>= 8;
    }
    update(std::string_view(prefix, sizeof prefix));
    update(data);
}

std::array<uint8_t, 32> Sha256::finish() {
    std::array<uint8_t, 32> digest{};
    unsigned int size = 0;
    if (EVP_DigestFinal_ex(ctx_.get(), digest.data(), &size) != 1) throw_openssl("EVP_DigestFinal_ex");
    if (size != digest.size())
        throw std::runtime_error("EVP_DigestFinal_ex(SHA-256) gave " + std::to_string(size) + " bytes, not 32");
    // Start over, so a finished object hashes a new message rather than
    // failing on a context OpenSSL has finalised.
    start(ctx_.get());
    return digest;
}

std::string Sha256::hex() {
    static constexpr char kDigits[] = "0123456789abcdef";
    std::string out;
    out.reserve(64);
    for (uint8_t byte : finish()) {
        out += kDigits[byte >> 4];
        out += kDigits[byte & 0xf];
    }
    return out;
}

std::string sha256_hex(std::string_view data) {
    Sha256 h;
    h.update(data);
    return h.hex();
}

}  // namespace execd
