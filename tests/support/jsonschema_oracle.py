"""The independent oracle of tests/live_oracle_python.rs: python's `jsonschema` (4.x).

Reads JSON lines on stdin and answers each with one JSON line on stdout:
  {"schema": S}  ->  {"ok": true} or {"ok": false, "error": "..."}; S judges what follows
  {"body": B}    ->  {"valid": true} or {"valid": false, "error": "..."}

S is a request schema as tests/common/oracle.rs `to_draft4` maps it from OpenAPI 3.0:
`nullable: true` is already a `{"type": "null"}` branch, so S is plain JSON Schema
draft 4 (OpenAPI 3.0's base dialect), judged by Draft4Validator with its draft 4 format
checker (a format it cannot check, such as `uri` without rfc3987, passes), as the Rust
oracle of tests/live_oracle.rs does. Nothing is fetched: `$ref`s are already resolved.
"""

import json
import sys

import jsonschema
from jsonschema import Draft4Validator

FORMATS = getattr(Draft4Validator, "FORMAT_CHECKER", None) or jsonschema.draft4_format_checker


def main():
    validator = None
    for line in sys.stdin:
        if not line.strip():
            continue
        message = json.loads(line)
        if "schema" in message:
            try:
                Draft4Validator.check_schema(message["schema"])
                validator = Draft4Validator(message["schema"], format_checker=FORMATS)
                answer = {"ok": True}
            except jsonschema.exceptions.SchemaError as e:
                validator = None
                answer = {"ok": False, "error": e.message}
        elif validator is None:
            answer = {"valid": False, "error": "no usable schema was sent before this body"}
        else:
            error = jsonschema.exceptions.best_match(validator.iter_errors(message["body"]))
            answer = {"valid": True} if error is None else {"valid": False, "error": error.message}
        sys.stdout.write(json.dumps(answer) + "\n")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
