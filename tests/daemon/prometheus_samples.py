#!/usr/bin/python3
"""Parses a Prometheus text exposition with prometheus_client's own parser
and prints every sample as: name TAB labels (k=v, sorted, comma-separated)
TAB value. Exits 1, naming the problem, when the text does not parse or a
family is declared twice; a test compares the samples."""
import sys

from prometheus_client.parser import text_string_to_metric_families


def main() -> int:
    with open(sys.argv[1], encoding="utf-8") as f:
        text = f.read()
    seen = set()
    try:
        for family in text_string_to_metric_families(text):
            if family.name in seen:
                print(f"family {family.name} declared twice", file=sys.stderr)
                return 1
            seen.add(family.name)
            if family.type == "unknown":
                print(f"family {family.name} has no TYPE line", file=sys.stderr)
                return 1
            for s in family.samples:
                labels = ",".join(f"{k}={v}" for k, v in sorted(s.labels.items()))
                print(f"{s.name}\t{labels}\t{s.value!r}")
    except Exception as e:  # the parser raises ValueError and others on malformed text
        print(f"not Prometheus text: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
