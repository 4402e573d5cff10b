#!/usr/bin/python3
"""Checks recorded HTTP responses against an OpenAPI 3.1 document.

    validate_responses.py OPENAPI_JSON RECORDS_JSONL

OPENAPI_JSON is the document (what execd serves at GET /v1/openapi.json).
RECORDS_JSONL holds one response a line, as a JSON object:

    {"method": "GET", "target": "/v1/jobs/ID?wait=100", "status": 200,
     "headers": {"content-type": "application/json", ...},   (names lower case)
     "body": "<the body as text>",
     "request": "<the request body as text>",                 (optional)
     "note": "<what the request exercises>"}                  (optional)

First the document itself is checked: its shape (the part of the OpenAPI 3.1
structure it uses), that every schema is a valid JSON Schema 2020-12 schema,
every $ref resolves, every path parameter is declared, every operation has
responses, every response with a body has a schema and an example, and every
example validates against its schema.

Then each record: the operation is found from the method and the path (a
literal path before a template; a method a path has no operation for takes the
path's `x-other-methods`, a path no template matches the document's
`x-unmatched-request`), the response from the status (exact, then 4XX/5XX,
then default), the media type from Content-Type; the body is parsed (JSON, no
duplicate members) and validated against the schema, and the headers against
the documented ones (each required one present, each present one valid, and
no undocumented header among those execd sets on purpose). A response whose
operation, status or content type is not documented fails.

Exit status: 0 when every record is valid, 1 when one is not, 2 when the
document is invalid or the arguments are wrong.
"""

import json
import re
import sys

try:
    from jsonschema import Draft202012Validator, RefResolver
    from jsonschema.exceptions import RefResolutionError, SchemaError, UnknownType

    JsonSchemaError = (RefResolutionError, SchemaError, UnknownType)
except ImportError:
    sys.exit("validate_responses.py needs python3-jsonschema (packaging/install-deps.sh installs it)")

METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")

# Headers execd sets on purpose: present on a response that does not document
# them, they fail it. (Date, Content-Length, Connection and the like are
# HTTP's own.)
DELIBERATE_HEADERS = re.compile(r"^(x-request-id|retry-after|allow|vary|access-control-.*)$")

# The part of the OpenAPI 3.1 structure this project's document uses, as a
# JSON Schema: object names, required members, and no member the
# specification does not define (extensions, x-*, aside).
_EXT = {"^x-": {}}
_REF = {
    "type": "object",
    "required": ["$ref"],
    "properties": {"$ref": {"type": "string"}, "summary": {"type": "string"}, "description": {"type": "string"}},
    "additionalProperties": False,
}


def _obj(properties, required=(), extensions=True):
    schema = {"type": "object", "properties": properties, "additionalProperties": False}
    if required:
        schema["required"] = list(required)
    if extensions:
        schema["patternProperties"] = _EXT
    return schema


def _map_of(item):
    return {"type": "object", "additionalProperties": item}


def _either(item_ref):
    return {"oneOf": [_REF, {"$ref": item_ref}]}


OAS_STRUCTURE = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$defs": {
        "info": _obj(
            {
                "title": {"type": "string"},
                "summary": {"type": "string"},
                "description": {"type": "string"},
                "termsOfService": {"type": "string"},
                "contact": {"type": "object"},
                "license": _obj({"name": {"type": "string"}, "identifier": {"type": "string"},
                                 "url": {"type": "string"}}, ["name"]),
                "version": {"type": "string"},
            },
            ["title", "version"],
        ),
        "server": _obj({"url": {"type": "string"}, "description": {"type": "string"},
                        "variables": {"type": "object"}}, ["url"]),
        "tag": _obj({"name": {"type": "string"}, "description": {"type": "string"},
                     "externalDocs": {"type": "object"}}, ["name"]),
        "security": {"type": "array", "items": _map_of({"type": "array", "items": {"type": "string"}})},
        "schema": {"type": ["object", "boolean"]},
        "example": {
            "oneOf": [
                _REF,
                _obj({"summary": {"type": "string"}, "description": {"type": "string"}, "value": {},
                      "externalValue": {"type": "string"}}),
            ]
        },
        "examples": _map_of({"$ref": "#/$defs/example"}),
        "parameter": _obj(
            {
                "name": {"type": "string"},
                "in": {"enum": ["query", "header", "path", "cookie"]},
                "description": {"type": "string"},
                "required": {"type": "boolean"},
                "deprecated": {"type": "boolean"},
                "allowEmptyValue": {"type": "boolean"},
                "style": {"enum": ["matrix", "label", "form", "simple", "spaceDelimited", "pipeDelimited",
                                   "deepObject"]},
                "explode": {"type": "boolean"},
                "allowReserved": {"type": "boolean"},
                "schema": {"$ref": "#/$defs/schema"},
                "example": {},
                "examples": {"$ref": "#/$defs/examples"},
                "content": _map_of({"$ref": "#/$defs/mediaType"}),
            },
            ["name", "in"],
        ),
        "header": _obj(
            {
                "description": {"type": "string"},
                "required": {"type": "boolean"},
                "deprecated": {"type": "boolean"},
                "style": {"const": "simple"},
                "explode": {"type": "boolean"},
                "schema": {"$ref": "#/$defs/schema"},
                "example": {},
                "examples": {"$ref": "#/$defs/examples"},
                "content": _map_of({"$ref": "#/$defs/mediaType"}),
            }
        ),
        "mediaType": _obj(
            {
                "schema": {"$ref": "#/$defs/schema"},
                "example": {},
                "examples": {"$ref": "#/$defs/examples"},
                "encoding": {"type": "object"},
            }
        ),
        "requestBody": _obj(
            {"description": {"type": "string"}, "content": _map_of({"$ref": "#/$defs/mediaType"}),
             "required": {"type": "boolean"}},
            ["content"],
        ),
        "response": _obj(
            {
                "description": {"type": "string"},
                "headers": _map_of(_either("#/$defs/header")),
                "content": _map_of({"$ref": "#/$defs/mediaType"}),
                "links": {"type": "object"},
            },
            ["description"],
        ),
        "responses": {
            "type": "object",
            "minProperties": 1,
            "propertyNames": {"pattern": "^([1-5][0-9][0-9]|[1-5]XX|default|x-.*)$"},
            "patternProperties": {"^([1-5][0-9][0-9]|[1-5]XX|default)$": _either("#/$defs/response")},
        },
        "operation": _obj(
            {
                "tags": {"type": "array", "items": {"type": "string"}},
                "summary": {"type": "string"},
                "description": {"type": "string"},
                "externalDocs": {"type": "object"},
                "operationId": {"type": "string"},
                "parameters": {"type": "array", "items": _either("#/$defs/parameter")},
                "requestBody": _either("#/$defs/requestBody"),
                "responses": {"$ref": "#/$defs/responses"},
                "callbacks": {"type": "object"},
                "deprecated": {"type": "boolean"},
                "security": {"$ref": "#/$defs/security"},
                "servers": {"type": "array", "items": {"$ref": "#/$defs/server"}},
            },
            ["responses"],
        ),
        # This project's extensions: the answer to what no operation describes.
        "otherRequests": _obj(
            {"description": {"type": "string"}, "responses": {"$ref": "#/$defs/responses"}},
            ["description", "responses"],
            extensions=False,
        ),
        "pathItem": _obj(
            dict(
                {m: {"$ref": "#/$defs/operation"} for m in METHODS},
                **{
                    "$ref": {"type": "string"},
                    "summary": {"type": "string"},
                    "description": {"type": "string"},
                    "servers": {"type": "array", "items": {"$ref": "#/$defs/server"}},
                    "parameters": {"type": "array", "items": _either("#/$defs/parameter")},
                    "x-other-methods": {"$ref": "#/$defs/otherRequests"},
                },
            )
        ),
        "securityScheme": _obj(
            {
                "type": {"enum": ["apiKey", "http", "mutualTLS", "oauth2", "openIdConnect"]},
                "description": {"type": "string"},
                "name": {"type": "string"},
                "in": {"enum": ["query", "header", "cookie"]},
                "scheme": {"type": "string"},
                "bearerFormat": {"type": "string"},
                "flows": {"type": "object"},
                "openIdConnectUrl": {"type": "string"},
            },
            ["type"],
        ),
        "components": _obj(
            {
                "schemas": _map_of({"$ref": "#/$defs/schema"}),
                "responses": _map_of(_either("#/$defs/response")),
                "parameters": _map_of(_either("#/$defs/parameter")),
                "examples": {"$ref": "#/$defs/examples"},
                "requestBodies": _map_of(_either("#/$defs/requestBody")),
                "headers": _map_of(_either("#/$defs/header")),
                "securitySchemes": _map_of(_either("#/$defs/securityScheme")),
                "links": {"type": "object"},
                "callbacks": {"type": "object"},
                "pathItems": _map_of({"$ref": "#/$defs/pathItem"}),
            }
        ),
    },
    **_obj(
        {
            "openapi": {"type": "string", "pattern": r"^3\.1\.[0-9]+$"},
            "info": {"$ref": "#/$defs/info"},
            "jsonSchemaDialect": {"type": "string"},
            "servers": {"type": "array", "items": {"$ref": "#/$defs/server"}},
            "paths": {
                "type": "object",
                "propertyNames": {"pattern": "^/"},
                "additionalProperties": {"$ref": "#/$defs/pathItem"},
            },
            "webhooks": {"type": "object"},
            "components": {"$ref": "#/$defs/components"},
            "security": {"$ref": "#/$defs/security"},
            "tags": {"type": "array", "items": {"$ref": "#/$defs/tag"}},
            "externalDocs": {"type": "object"},
            "x-unmatched-request": {"$ref": "#/$defs/otherRequests"},
        },
        ["openapi", "info", "paths"],
    ),
}


class Document:
    """The OpenAPI document, its $refs resolved on demand."""

    def __init__(self, doc):
        self.doc = doc
        self.resolver = RefResolver(base_uri="", referrer=doc)
        self.templates = []  # (segments, path) of every path
        for path in doc.get("paths", {}):
            self.templates.append((path.strip("/").split("/") if path != "/" else [], path))

    def resolve(self, node):
        """A Reference Object's target (followed until it is none), else the node."""
        seen = set()
        while isinstance(node, dict) and "$ref" in node:
            ref = node["$ref"]
            if ref in seen:
                raise ValueError("a cycle of $refs through " + ref)
            seen.add(ref)
            if not ref.startswith("#/"):
                raise ValueError("only references within the document are supported, not " + ref)
            node = self.pointer(ref[1:])
        return node

    def pointer(self, pointer):
        node = self.doc
        for part in pointer.lstrip("/").split("/"):
            part = part.replace("~1", "/").replace("~0", "~")
            if isinstance(node, dict) and part in node:
                node = node[part]
            elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
                node = node[int(part)]
            else:
                raise ValueError("the $ref #" + pointer + " points at nothing")
        return node

    def errors(self, schema, instance):
        """Messages for where `instance` breaks `schema` (which may $ref into the document)."""
        validator = Draft202012Validator(schema, resolver=self.resolver)
        out = []
        for e in sorted(validator.iter_errors(instance), key=lambda e: list(e.absolute_path)):
            out += explain(e)
        return out

    def match_path(self, path):
        """The path template `path` falls under: a literal one first, else the one with most literal segments."""
        segments = path.strip("/").split("/") if path != "/" else []
        best, best_literals = None, -1
        for template, name in self.templates:
            if len(template) != len(segments):
                continue
            literals = 0
            for t, s in zip(template, segments):
                if t.startswith("{") and t.endswith("}"):
                    if not s:
                        break
                elif t != s:
                    break
                else:
                    literals += 1
            else:
                if literals > best_literals:
                    best, best_literals = name, literals
        return best


def explain(error):
    """Lines saying where and why; for a oneOf or anyOf, why the branch that came closest failed."""
    where = "".join("[%s]" % json.dumps(p) for p in error.absolute_path) or "(the whole)"
    message = error.message if len(error.message) < 200 else error.message[:200] + "..."
    if not error.context:
        return ["%s: %s" % (where, message)]
    # The closest branch: one whose discriminator (a const or enum) fits,
    # then the one with the fewest errors.
    branches = {}
    for e in error.context:
        branches.setdefault(e.relative_schema_path[0], []).append(e)
    closest = min(branches.values(), key=lambda es: (any(e.validator in ("const", "enum") for e in es), len(es)))
    lines = ["%s: %s; the closest alternative fails:" % (where, message)]
    for e in closest:
        lines += ["  " + line for line in explain(e)]
    return lines


def walk(node, where=""):
    """Every (json pointer, dict) in the document."""
    if isinstance(node, dict):
        yield where, node
        for k, v in node.items():
            yield from walk(v, where + "/" + str(k).replace("~", "~0").replace("/", "~1"))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from walk(v, where + "/" + str(i))


def media_essence(content_type):
    return content_type.split(";")[0].strip().lower()


def check_examples(doc, where, holder, schema, problems):
    """`holder` (a media type, parameter or header) has examples that fit `schema`."""
    examples = []
    if "example" in holder:
        examples.append(("example", holder["example"]))
    for name, ex in holder.get("examples", {}).items():
        ex = doc.resolve(ex)
        if "value" in ex:
            examples.append(("examples/" + name, ex["value"]))
    for name, value in examples:
        for e in doc.errors(schema, value):
            problems.append("%s/%s does not fit its schema: %s" % (where, name, e))
    return len(examples)


def check_response(doc, where, status, response, problems):
    response = doc.resolve(response)
    for name, header in response.get("headers", {}).items():
        header = doc.resolve(header)
        if "schema" not in header:
            problems.append("%s/headers/%s has no schema" % (where, name))
        else:
            check_examples(doc, where + "/headers/" + name, header, header["schema"], problems)
    content = response.get("content", {})
    if status in ("204", "304") or status.startswith("1"):
        if content:
            problems.append("%s: a %s response has no body, yet content is described" % (where, status))
        return
    if not content:
        problems.append("%s has no content (every response of this API has a body)" % where)
    for media, mt in content.items():
        if "schema" not in mt:
            problems.append("%s/content/%s has no schema" % (where, media))
            continue
        if check_examples(doc, where + "/content/" + media, mt, mt["schema"], problems) == 0:
            problems.append("%s/content/%s has no example" % (where, media))


def check_document(doc):
    """Problems with the document itself; [] when it is sound."""
    problems = ["%s: %s" % ("/".join(str(p) for p in e.absolute_path) or "(the document)", e.message)
                for e in Draft202012Validator(OAS_STRUCTURE).iter_errors(doc.doc)]
    if problems:
        return problems  # the checks below assume the shape

    for where, node in walk(doc.doc):
        if "$ref" in node and isinstance(node["$ref"], str):
            try:
                doc.resolve({"$ref": node["$ref"]})
            except ValueError as e:
                problems.append("%s: %s" % (where, e))
    if problems:
        return problems

    # Every schema, the components' and those written in place, before any
    # is used.
    components = doc.doc.get("components", {})
    schemas = [("/components/schemas/" + name, schema) for name, schema in components.get("schemas", {}).items()]
    for where, node in walk(doc.doc):
        if "schema" in node and not where.startswith("/components/schemas"):
            schemas.append((where + "/schema", node["schema"]))
    for where, schema in schemas:
        try:
            Draft202012Validator.check_schema(schema)
        except SchemaError as e:
            problems.append("%s is not a valid JSON Schema 2020-12 schema: %s" % (where, e.message))
    if problems:
        return problems

    for name, schema in components.get("schemas", {}).items():
        for i, example in enumerate(schema.get("examples", []) if isinstance(schema, dict) else []):
            for e in doc.errors(schema, example):
                problems.append("components/schemas/%s/examples/%d does not fit: %s" % (name, i, e))

    schemes = components.get("securitySchemes", {})
    requirements = list(doc.doc.get("security", []))
    operation_ids = {}
    for path, item in doc.doc["paths"].items():
        item_params = [doc.resolve(p) for p in item.get("parameters", [])]
        for method in METHODS:
            if method not in item:
                continue
            op = item[method]
            where = "paths/%s/%s" % (path, method)
            if "operationId" in op:
                if op["operationId"] in operation_ids:
                    problems.append("%s: operationId %s is also %s's" % (where, op["operationId"],
                                                                         operation_ids[op["operationId"]]))
                operation_ids[op["operationId"]] = where
            requirements += op.get("security", [])
            params = {(p["in"], p["name"]): p for p in item_params}
            params.update({(p["in"], p["name"]): p for p in (doc.resolve(p) for p in op.get("parameters", []))})
            in_template = set(re.findall(r"\{([^}]+)\}", path))
            declared = {name for (where_in, name) in params if where_in == "path"}
            for missing in sorted(in_template - declared):
                problems.append("%s: the path parameter {%s} is not declared" % (where, missing))
            for extra in sorted(declared - in_template):
                problems.append("%s: the path parameter %s is not in the path" % (where, extra))
            for (where_in, name), p in params.items():
                if where_in == "path" and p.get("required") is not True:
                    problems.append("%s: path parameter %s must say required: true" % (where, name))
                if "schema" in p:
                    check_examples(doc, "%s/parameters/%s" % (where, name), p, p["schema"], problems)
                elif "content" not in p:
                    problems.append("%s: parameter %s has neither schema nor content" % (where, name))
            if "requestBody" in op:
                body = doc.resolve(op["requestBody"])
                for media, mt in body["content"].items():
                    if "schema" not in mt:
                        problems.append("%s/requestBody/%s has no schema" % (where, media))
                    elif check_examples(doc, "%s/requestBody/%s" % (where, media), mt, mt["schema"], problems) == 0:
                        problems.append("%s/requestBody/%s has no example" % (where, media))
            for status, response in op["responses"].items():
                if not status.startswith("x-"):
                    check_response(doc, "%s/responses/%s" % (where, status), status, response, problems)
        if "x-other-methods" in item:
            for status, response in item["x-other-methods"]["responses"].items():
                check_response(doc, "paths/%s/x-other-methods/responses/%s" % (path, status), status, response,
                               problems)
    if "x-unmatched-request" in doc.doc:
        for status, response in doc.doc["x-unmatched-request"]["responses"].items():
            check_response(doc, "x-unmatched-request/responses/" + status, status, response, problems)
    for requirement in requirements:
        for scheme in requirement:
            if scheme not in schemes:
                problems.append("the security requirement %s names no securityScheme" % scheme)
    return problems


def responses_for(doc, method, path):
    """(what the request is, its responses, its operation or None), or (what, None, None)."""
    template = doc.match_path(path)
    if template is None:
        other = doc.doc.get("x-unmatched-request")
        return "an unmatched path", (other or {}).get("responses"), None
    item = doc.doc["paths"][template]
    op = item.get(method.lower())
    if op is not None:
        return "%s %s" % (method.upper(), template), op["responses"], op
    other = item.get("x-other-methods")
    return "%s %s (x-other-methods)" % (method.upper(), template), (other or {}).get("responses"), None


def parse_json_strictly(text):
    def no_duplicates(pairs):
        seen = {}
        for k, v in pairs:
            if k in seen:
                raise ValueError("the member %s appears twice" % json.dumps(k))
            seen[k] = v
        return seen

    def no_constant(name):
        raise ValueError("%s is not JSON" % name)

    return json.loads(text, object_pairs_hook=no_duplicates, parse_constant=no_constant)


def header_value(schema, text):
    """A header's text as the instance its schema describes."""
    kinds = schema.get("type") if isinstance(schema, dict) else None
    if kinds == "integer" and re.fullmatch(r"-?[0-9]+", text.strip()):
        return int(text.strip())
    return text


def check_record(doc, record):
    """Problems with one recorded response; [] when it is as documented."""
    method = record["method"]
    target = record["target"]
    path, _, query = target.partition("?")
    status = str(record["status"])
    headers = {k.lower(): v for k, v in record.get("headers", {}).items()}
    what, responses, op = responses_for(doc, method, path)
    if responses is None:
        return ["%s is not described (no operation, no x-other-methods or x-unmatched-request)" % what]
    key = status if status in responses else status[0] + "XX" if status[0] + "XX" in responses else "default"
    if key not in responses:
        return ["%s: the status %s is not documented (documented: %s)" % (what, status, ", ".join(sorted(responses)))]
    response = doc.resolve(responses[key])
    problems = []

    # Headers: the required ones there, each documented one valid, none of
    # execd's own undocumented.
    documented = {name.lower(): doc.resolve(h) for name, h in response.get("headers", {}).items()}
    for name, header in documented.items():
        if name == "content-type":
            continue
        if name not in headers:
            if header.get("required"):
                problems.append("%s %s: the header %s is missing" % (what, status, name))
            continue
        value = header_value(header.get("schema", {}), headers[name])
        for e in doc.errors(header.get("schema", {}), value):
            problems.append("%s %s: the header %s (%r): %s" % (what, status, name, headers[name], e))
    for name in sorted(headers):
        if DELIBERATE_HEADERS.match(name) and name not in documented:
            problems.append("%s %s: the header %s is not documented for this response" % (what, status, name))

    # The body.
    body = record.get("body", "")
    content = response.get("content", {})
    if method.upper() == "HEAD":
        return problems  # a HEAD response has no body, whatever its length says
    if not content:
        if body:
            problems.append("%s %s: a body came (%d bytes) where none is documented" % (what, status, len(body)))
        return problems
    content_type = headers.get("content-type", "")
    media = next((m for m in content if media_essence(m) == media_essence(content_type)), None)
    if media is None:
        problems.append("%s %s: the Content-Type %r is not documented (documented: %s)" %
                        (what, status, content_type, ", ".join(content)))
        return problems
    schema = content[media].get("schema", {})
    if media_essence(media) == "application/json" or media_essence(media).endswith("+json"):
        try:
            instance = parse_json_strictly(body)
        except ValueError as e:
            return problems + ["%s %s: the body is not JSON (%s): %r" % (what, status, e, body[:200])]
    else:
        instance = body
    problems += ["%s %s: %s" % (what, status, e) for e in doc.errors(schema, instance)]

    # What the server accepted must be what the document says it accepts.
    if op is not None and status.startswith("2"):
        for p in (doc.resolve(p) for p in op.get("parameters", [])):
            if p["in"] == "query" and p.get("required") and not re.search(r"(^|&)%s=" % re.escape(p["name"]), query):
                problems.append("%s %s: accepted without the required query parameter %s" % (what, status, p["name"]))
        if "requestBody" in op and record.get("request") is not None:
            body_doc = doc.resolve(op["requestBody"])
            media = next((m for m in body_doc["content"] if media_essence(m) == "application/json"), None)
            if media is not None:
                try:
                    sent = parse_json_strictly(record["request"])
                    problems += ["%s %s: the accepted request body: %s" % (what, status, e)
                                 for e in doc.errors(body_doc["content"][media].get("schema", {}), sent)]
                except ValueError as e:
                    problems.append("%s %s: an accepted request body is not JSON: %s" % (what, status, e))
    return problems


def main(argv):
    if len(argv) != 3:
        print(__doc__.strip().split("\n\n")[1], file=sys.stderr)
        return 2
    try:
        with open(argv[1], encoding="utf-8") as f:
            doc = Document(parse_json_strictly(f.read()))
    except (OSError, ValueError) as e:
        print("%s: %s" % (argv[1], e), file=sys.stderr)
        return 2
    try:
        problems = check_document(doc)
    except (JsonSchemaError, ValueError, KeyError, TypeError, AttributeError) as e:
        problems = ["the document could not be checked: %s" % e]
    if problems:
        print("%s is not a sound OpenAPI 3.1 document:" % argv[1])
        for p in problems:
            print("  " + p)
        return 2

    failed = 0
    covered = {}
    with open(argv[2], encoding="utf-8") as f:
        lines = [line for line in f if line.strip()]
    if not lines:
        print("%s: no records" % argv[2], file=sys.stderr)
        return 2
    for number, line in enumerate(lines, 1):
        try:
            record = json.loads(line)
            label = "%s %s -> %s" % (record["method"], record["target"], record["status"])
            problems = check_record(doc, record)
        except (ValueError, KeyError, TypeError) as e:
            label, problems = "record %d" % number, ["not a record: %s" % e]
            record = {}
        if record.get("note"):
            label += " (%s)" % record["note"]
        if problems:
            failed += 1
            print("INVALID %s" % label)
            for p in problems:
                print("    " + p)
        else:
            what, _, _ = responses_for(doc, record["method"], record["target"].partition("?")[0])
            covered.setdefault(what, set()).add(str(record["status"]))
    print("%d of %d responses are as documented" % (len(lines) - failed, len(lines)))
    for what in sorted(covered):
        print("  %s: %s" % (what, " ".join(sorted(covered[what]))))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
