// The spans api/raw_json.h finds in JSON text must be what the JSON parser
// itself reads there: for every text Poco parses, each member raw_member
// returns and each element raw_elements returns parses to the same value.
#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <Poco/JSON/Stringifier.h>

#include <sstream>
#include <string>

#include "api/api_error.h"
#include "api/codec.h"
#include "api/raw_json.h"
#include "tests/fuzz/fuzz_support.h"

using namespace execd;
using Poco::Dynamic::Var;
using Poco::JSON::Array;
using Poco::JSON::Object;

namespace {

std::string canonical(const Var& v) {
    std::ostringstream out;
    Poco::JSON::Stringifier::condense(v, out);
    return out.str();
}

// `text` parsed as the API parses a body; nullopt when it is not JSON.
std::optional<Var> parse(std::string_view text) {
    try {
        return api::parse_json_body(std::string(text));
    } catch (const api::ApiError&) {
        return std::nullopt;
    }
}

// A span's value: parsed inside brackets, since Poco's parser takes no
// scalar ("true", "2") at the top level.
std::optional<Var> parse_value(std::string_view span) {
    const auto wrapped = parse("[" + std::string(span) + "]");
    if (!wrapped || wrapped->type() != typeid(Array::Ptr)) return std::nullopt;
    const Array::Ptr array = wrapped->extract<Array::Ptr>();
    if (array->size() != 1) return std::nullopt;
    return array->get(0);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    // Never a crash, whatever the text.
    (void)api::raw_elements(text);
    (void)api::raw_member(text, "metadata");
    const std::optional<Var> root = parse(text);
    if (!root) return 0;

    if (root->type() == typeid(Object::Ptr)) {
        const Object::Ptr object = root->extract<Object::Ptr>();
        for (const std::string& key : object->getNames()) {
            if (key.find('\0') != std::string::npos) continue;  // the parser cuts keys at a NUL
            const auto raw = api::raw_member(text, key);
            FUZZ_REQUIRE(raw.has_value());
            const std::optional<Var> member = parse_value(*raw);
            FUZZ_REQUIRE(member.has_value());
            FUZZ_REQUIRE(canonical(*member) == canonical(object->get(key)));
        }
    } else if (root->type() == typeid(Array::Ptr)) {
        const Array::Ptr array = root->extract<Array::Ptr>();
        const auto raw = api::raw_elements(text);
        FUZZ_REQUIRE(raw.size() == array->size());
        for (size_t i = 0; i < raw.size(); ++i) {
            const std::optional<Var> element = parse_value(raw[i]);
            FUZZ_REQUIRE(element.has_value());
            FUZZ_REQUIRE(canonical(*element) == canonical(array->get(static_cast<unsigned>(i))));
        }
    }
    return 0;
}
