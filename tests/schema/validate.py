#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""validate.py SCHEMA REPORT.json...: check tlsdiag JSON reports against docs/report.schema.json.

Uses Debian's python3-jsonschema (run with /usr/bin/python3). Exit status: 0 every report is valid,
1 a report is invalid (the first error is printed with its JSON path) or its top-level keys are not in the
schema's order, 2 usage, unreadable file or bad schema.
"""
import json
import sys

try:
    import jsonschema
except ImportError:
    print("validate.py: the jsonschema module is missing: apt-get install python3-jsonschema", file=sys.stderr)
    sys.exit(2)


def json_path(error):
    """$.connections[0].outcome for the error's location in the instance."""
    out = "$"
    for part in error.absolute_path:
        out += "[%d]" % part if isinstance(part, int) else "." + str(part)
    return out


def load(path):
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except (OSError, ValueError) as e:
        print("validate.py: %s: %s" % (path, e), file=sys.stderr)
        sys.exit(2)


def main(argv):
    if len(argv) < 3:
        print("usage: validate.py SCHEMA REPORT.json...", file=sys.stderr)
        return 2
    schema = load(argv[1])
    cls = jsonschema.validators.validator_for(schema)
    try:
        cls.check_schema(schema)
    except jsonschema.exceptions.SchemaError as e:
        print("validate.py: %s: not a valid schema: %s" % (argv[1], e.message), file=sys.stderr)
        return 2
    validator = cls(schema)
    for path in argv[2:]:
        report = load(path)
        # The schema says its top-level keys appear in its order (connections are written first, as the capture
        # is read): hold the report to that too.
        if isinstance(report, dict) and list(report) != list(schema["properties"]):
            print("%s: top-level keys %s, the schema's order is %s" % (path, list(report), list(schema["properties"])),
                  file=sys.stderr)
            return 1
        errors = list(validator.iter_errors(report))
        if errors:
            first = jsonschema.exceptions.best_match(errors)
            print("%s: %s: %s" % (path, json_path(first), first.message), file=sys.stderr)
            if len(errors) > 1:
                print("%s: (%d more errors)" % (path, len(errors) - 1), file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
