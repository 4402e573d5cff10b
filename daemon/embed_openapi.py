#!/usr/bin/python3
"""Writes api/openapi.yaml as JSON, and as a C++ file defining
execd::daemon::kOpenApiJson, the body of GET /v1/openapi.json.

    embed_openapi.py OPENAPI_YAML VERSION JSON_OUTPUT CPP_OUTPUT

VERSION (the project's) becomes info.version. The YAML is read strictly: a
key given twice in one mapping, or a key that is not a string (YAML reads a
bare 200 or `on` as a number or a boolean), stops the build with its line.
"""

import json
import sys

try:
    import yaml
except ImportError:
    sys.exit("embed_openapi.py needs python3-yaml (packaging/install-deps.sh installs it)")

DELIMITER = "EXECD_OPENAPI"


class StrictLoader(yaml.SafeLoader):
    def construct_mapping(self, node, deep=False):
        seen = set()
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = self.construct_object(key_node, deep=True)
            where = "line %d" % (key_node.start_mark.line + 1)
            if not isinstance(key, str):
                raise yaml.MarkedYAMLError(problem="the key %r is not a string (quote it)" % (key,),
                                           problem_mark=key_node.start_mark)
            if key in seen:
                raise yaml.MarkedYAMLError(problem="the key %r is given twice (%s)" % (key, where),
                                           problem_mark=key_node.start_mark)
            seen.add(key)
        return super().construct_mapping(node, deep)


def main(argv):
    if len(argv) != 5:
        sys.exit(__doc__.strip().split("\n\n")[1])
    source, version, json_out, cpp_out = argv[1:]
    try:
        with open(source, encoding="utf-8") as f:
            doc = yaml.load(f, Loader=StrictLoader)
        doc["info"]["version"] = version
        text = json.dumps(doc, ensure_ascii=True, allow_nan=False, separators=(",", ":"))
    except (OSError, yaml.YAMLError, TypeError, ValueError, KeyError) as e:
        sys.exit("%s: %s" % (source, e))
    if ")" + DELIMITER + '"' in text:
        sys.exit("%s: the document contains the raw-string delimiter %s" % (source, DELIMITER))
    with open(json_out, "w", encoding="ascii") as f:
        f.write(text + "\n")
    with open(cpp_out, "w", encoding="ascii") as f:
        f.write("// Generated from api/openapi.yaml by daemon/embed_openapi.py; do not edit.\n"
                "#include <string_view>\n"
                "namespace execd::daemon {\n"
                "extern const std::string_view kOpenApiJson;\n"
                'const std::string_view kOpenApiJson = R"%s(%s)%s";\n'
                "}  // namespace execd::daemon\n" % (DELIMITER, text, DELIMITER))


if __name__ == "__main__":
    main(sys.argv)
