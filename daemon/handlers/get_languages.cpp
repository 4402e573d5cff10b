// GET /v1/languages: the registry, with what is usable on this node.
#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>

#include <sstream>

#include "api/codec.h"
#include "daemon/handlers/handlers.h"

namespace execd::daemon::handlers {

void get_languages(ServerContext& ctx, const Request&, Response& res) {
    auto registry = ctx.registry();
    Poco::JSON::Array::Ptr list = new Poco::JSON::Array;
    for (const auto& l : registry->languages()) {
        Poco::JSON::Object::Ptr o = new Poco::JSON::Object(Poco::JSON_PRESERVE_KEY_ORDER);
        o->set("id", l.id);
        o->set("name", l.name);
        Poco::JSON::Array::Ptr aliases = new Poco::JSON::Array;
        for (const auto& a : l.aliases) aliases->add(a);
        o->set("aliases", aliases);
        Poco::JSON::Array::Ptr ext = new Poco::JSON::Array;
        for (const auto& e : l.extensions) ext->add(e);
        o->set("extensions", ext);
        if (!l.variant_of.empty()) o->set("variantOf", l.variant_of);
        o->set("compiled", l.compiled());
        o->set("usable", l.usable());
        list->add(o);
    }
    std::ostringstream out;
    list->stringify(out);
    res.body = out.str();
}

}  // namespace execd::daemon::handlers
