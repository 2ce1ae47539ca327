"""``--format github``: GitHub Actions workflow commands that annotate the diff.

Values are escaped as the Actions runner expects: ``%``, CR and LF in the message, and
also ``:`` and ``,`` inside ``key=value`` properties, whose separators they are.
"""

from __future__ import annotations

from collections.abc import Mapping

from asynclint.diagnostic import Diagnostic, RunResult
from asynclint.rule import Rule

_DATA_ESCAPES = str.maketrans({"%": "%25", "\r": "%0D", "\n": "%0A"})
_PROPERTY_ESCAPES = str.maketrans({"%": "%25", "\r": "%0D", "\n": "%0A", ":": "%3A", ",": "%2C"})


def render(
    result: RunResult,
    rules: Mapping[str, type[Rule]],
    *,
    color: bool,
    statistics: bool,
) -> str:
    lines = [_command({"title": "asynclint"}, error) for error in result.errors]
    lines += [_annotation(diagnostic) for diagnostic in result.diagnostics]
    return "".join(line + "\n" for line in lines)


def _annotation(diagnostic: Diagnostic) -> str:
    """Columns are sent only for one-line spans: GitHub annotations support no others."""
    one_line = diagnostic.end_line == diagnostic.line
    properties = {
        "file": diagnostic.path,
        "line": str(diagnostic.line),
        "col": str(diagnostic.column) if one_line else None,
        "endLine": str(diagnostic.end_line),
        "endColumn": str(diagnostic.end_column) if one_line else None,
        "title": diagnostic.code,
    }
    return _command(properties, diagnostic.message)


def _command(properties: Mapping[str, str | None], message: str) -> str:
    fields = ",".join(
        f"{key}={value.translate(_PROPERTY_ESCAPES)}"
        for key, value in properties.items()
        if value is not None
    )
    return f"::error {fields}::{message.translate(_DATA_ESCAPES)}"
