"""Runs schemathesis's command line, with one work-round.

On CPython 3.11, `ast.parse` of a large module from deep in the stack can raise
`SystemError: AST constructor recursion depth mismatch` (a CPython bug, fixed in 3.12).
Hypothesis parses schemathesis's own source that way to describe a filter for its logs, and
catches only `SyntaxError`, so the bug ends an operation's run as a "Runtime Error" of the
tool. Turning that one error into a `SyntaxError` makes Hypothesis fall back to a plainer
description; nothing about the requests sent or the checks made changes.
"""

import ast
import sys

_parse = ast.parse


def _parse_or_syntax_error(*args, **kwargs):
    try:
        return _parse(*args, **kwargs)
    except SystemError as error:
        raise SyntaxError(str(error)) from error


ast.parse = _parse_or_syntax_error

from schemathesis.cli import schemathesis  # noqa: E402

if __name__ == "__main__":
    sys.argv[0] = "schemathesis"
    sys.exit(schemathesis())
