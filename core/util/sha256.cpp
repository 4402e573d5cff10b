// SHA-256 through GNU Nettle. The digest keys the compile cache, whose
// entries every job may run: it is a security boundary, so it is computed by
// a maintained, tested implementation rather than one of our own. Nettle,
// not OpenSSL's libcrypto: loading libcrypto cost every `exec` start about
// 0.7 ms here, Nettle a few microseconds.
#include "core/util/sha256.h"

#include <nettle/sha2.h>

namespace execd {

void Sha256::ContextFree::operator()(sha256_ctx* ctx) const noexcept { delete ctx; }

Sha256::Sha256() : ctx_(new sha256_ctx) { sha256_init(ctx_.get()); }

void Sha256::update(std::string_view data) {
    sha256_update(ctx_.get(), data.size(), reinterpret_cast<const uint8_t*>(data.data()));
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
    // sha256_digest also starts the context over, so a finished object
    // hashes a new message.
    sha256_digest(ctx_.get(), digest.size(), digest.data());
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
