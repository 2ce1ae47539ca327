"""Suppression comments: ``# noqa``, ``# noqa: ASL102``, ``# asynclint: ignore[...]``.

Only lines that carry a finding are inspected, so the cost is proportional to findings,
not to file size. A file-level ``# asynclint: skip-file`` own-line comment is checked on
the raw text before parsing, so skipped files cost nothing.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

_NOQA = re.compile(
    r"#\s*noqa(?P<sep>\s*:\s*(?P<codes>[A-Za-z]+[0-9]+(?:[\s,]+[A-Za-z]+[0-9]+)*))?",
    re.IGNORECASE,
)
_IGNORE = re.compile(r"#\s*asynclint:\s*ignore\[(?P<codes>[^\]]*)\]")
_SKIP_FILE = re.compile(r"^[ \t]*#\s*asynclint:\s*skip-file[ \t]*$", re.MULTILINE)
_SPLIT = re.compile(r"[\s,]+")
ALL = "*"


def skips_file(text: str) -> bool:
    return "skip-file" in text and _SKIP_FILE.search(text) is not None


def directives(line: str) -> frozenset[str]:
    """The codes/names a line suppresses; ``{"*"}`` for a bare ``# noqa``."""
    if "#" not in line:
        return frozenset()
    found: set[str] = set()
    for match in _NOQA.finditer(line):
        codes = match.group("codes")
        if codes is None:
            found.add(ALL)
        else:
            found.update(code.upper() for code in _SPLIT.split(codes) if code)
    for match in _IGNORE.finditer(line):
        found.update(code.strip() for code in match.group("codes").split(",") if code.strip())
    return frozenset(found)


def is_suppressed(lines: Sequence[str], first: int, last: int, code: str, name: str) -> bool:
    """True when a directive on lines `first`..`last` (1-based) covers `code` or `name`."""
    for number in range(first, min(last, len(lines)) + 1):
        found = directives(lines[number - 1])
        if ALL in found or code in found or name in found:
            return True
    return False
