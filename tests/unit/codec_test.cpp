#include <Poco/JSON/Parser.h>

#include <catch2/catch.hpp>

#include "codec.h"

using namespace execd;

TEST_CASE("invalid UTF-8 never reaches JSON", "[unit]") {
    CHECK(api::sanitize_utf8("plain") == "plain");
    CHECK(api::sanitize_utf8("caf\xC3\xA9") == "caf\xC3\xA9");
    CHECK(api::sanitize_utf8("a\xFF" "b") == "a\xEF\xBF\xBD" "b");
    CHECK(api::sanitize_utf8("\xC0\xAF") == "\xEF\xBF\xBD\xEF\xBF\xBD");      // overlong '/'
    CHECK(api::sanitize_utf8("\xED\xA0\x80") == "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");  // surrogate
    CHECK(api::sanitize_utf8("\xE2\x82") == "\xEF\xBF\xBD\xEF\xBF\xBD");      // truncated
}

TEST_CASE("base64", "[unit]") {
    CHECK(api::base64_encode("") == "");
    CHECK(api::base64_encode("f") == "Zg==");
    CHECK(api::base64_encode("fo") == "Zm8=");
    CHECK(api::base64_encode("foo") == "Zm9v");
    CHECK(api::base64_encode(std::string("\0\xff", 2)) == "AP8=");
}

TEST_CASE("a finished job has the seed's fields", "[unit]") {
    JobResult r;
    r.language = "python";
    r.run.verdict = Verdict::TimeLimitExceeded;
    r.run.exit_code = 124;
    r.run.stdout_data = "4\n\xFF";
    std::string text = api::stringify(api::completed_job_json(r, api::Encoding::Utf8));
    Poco::JSON::Parser parser;
    auto obj = parser.parse(text).extract<Poco::JSON::Object::Ptr>();
    CHECK(obj->getValue<std::string>("status") == "completed");
    CHECK(obj->getValue<std::string>("verdict") == "TimeLimitExceeded");
    CHECK(obj->getValue<std::string>("error") == "Time Limit Exceeded (program ran too long)");
    CHECK(obj->getValue<int>("exitCode") == 124);
    CHECK(obj->getValue<std::string>("stdout") == "4\n\xEF\xBF\xBD");

    r.run.verdict = Verdict::OK;
    r.run.exit_code = 0;
    r.run.stdout_data = "4\n";
    obj = parser.parse(api::stringify(api::completed_job_json(r, api::Encoding::Utf8))).extract<Poco::JSON::Object::Ptr>();
    CHECK(obj->getValue<std::string>("output") == "4");
    CHECK_FALSE(obj->has("error"));
}
