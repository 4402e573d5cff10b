#include "api/batch.h"

#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>

#include "api/api_error.h"
#include "api/codec.h"
#include "api/raw_json.h"

namespace execd::api {
namespace {

using Poco::Dynamic::Var;
using Poco::JSON::Array;
using Poco::JSON::Object;

// The body's "jobs" array, checked for shape and size but not yet element by
// element.
Array::Ptr jobs_array(const std::string& body, int64_t max_jobs) {
    const Var root = parse_json_body(body);
    if (root.type() != typeid(Object::Ptr))
        throw ApiError(400, "invalid_json", R"(the body must be a JSON object: {"jobs": [...]})");
    const Object& o = *root.extract<Object::Ptr>();
    for (const auto& name : o.getNames())
        if (name != "jobs")
            throw ApiError(400, "invalid_field", "unknown field '" + name + R"(' (the body is {"jobs": [...]}))", name);
    if (!o.has("jobs"))
        throw ApiError(400, "invalid_field", "'jobs' is required: an array of POST /v1/jobs bodies", "jobs");
    Var jobs = o.get("jobs");
    if (jobs.type() != typeid(Array::Ptr))
        throw ApiError(400, "invalid_field", "'jobs' must be an array of POST /v1/jobs bodies", "jobs");
    Array::Ptr list = jobs.extract<Array::Ptr>();
    if (list->size() == 0) throw ApiError(400, "invalid_field", "'jobs' must hold at least one job", "jobs");
    // Counted before any element is validated, so an oversized batch costs
    // no per-job work.
    if (static_cast<int64_t>(list->size()) > max_jobs)
        throw ApiError(400, "invalid_field",
                       "'jobs' must hold at most " + std::to_string(max_jobs) + " jobs (the operator's maximum), not " +
                           std::to_string(list->size()),
                       "jobs");
    return list;
}

}  // namespace

std::vector<Submission> parse_batch_body(const std::string& body, const Registry& registry, const Maxima& maxima,
                                         int64_t max_jobs) {
    Array::Ptr list = jobs_array(body, max_jobs);
    // The elements as sent, for each job's metadata byte for byte.
    const std::vector<std::string_view> sent = raw_elements(raw_member(body, "jobs").value_or(""));
    if (sent.size() != list->size())
        throw ApiError(400, "invalid_json", "the body's 'jobs' could not be read element by element");

    std::vector<Submission> subs;
    subs.reserve(list->size());
    for (size_t i = 0; i < list->size(); ++i) {
        const std::string at = "jobs[" + std::to_string(i) + "]";
        Var item = list->get(static_cast<unsigned int>(i));
        if (item.type() != typeid(Object::Ptr))
            throw ApiError(400, "invalid_field", "'" + at + "' must be a JSON object (a POST /v1/jobs body)", at);
        // Each element goes, as parsed, through the parser POST /v1/jobs
        // uses, so the rules and messages are the same (3000.0 is no integer
        // in either).
        try {
            subs.push_back(parse_submission(*item.extract<Object::Ptr>(), registry, maxima));
            attach_metadata(subs.back(), sent[i]);
        } catch (const ApiError& e) {
            throw ApiError(e.status(), e.code(), at + ": " + e.what(), e.field().empty() ? at : at + "." + e.field());
        }
    }
    return subs;
}

}  // namespace execd::api
