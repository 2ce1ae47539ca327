"""Findings and fixes as plain, picklable data.

Workers send these back to the parent process and every renderer reads them, so they
carry no syntax-tree references: positions are 1-based lines and 1-based columns
counted in Unicode code points, exactly what the JSON output promises.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any


class Applicability(str, enum.Enum):
    """How safe a fix is to apply without a human reading it (ruff's three levels)."""

    SAFE = "safe"
    UNSAFE = "unsafe"
    DISPLAY_ONLY = "display-only"


@dataclass(frozen=True)
class Edit:
    """Replace the text between two positions (end exclusive) with `content`."""

    line: int
    column: int
    end_line: int
    end_column: int
    content: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "line": self.line,
            "column": self.column,
            "end_line": self.end_line,
            "end_column": self.end_column,
            "content": self.content,
        }


@dataclass(frozen=True)
class Fix:
    applicability: Applicability
    title: str
    edits: tuple[Edit, ...] = ()
    imports: tuple[str, ...] = ()
    """Modules to import (``"asyncio"``) once the edits are applied."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "applicability": self.applicability.value,
            "title": self.title,
            "edits": [edit.to_dict() for edit in self.edits],
        }


@dataclass(frozen=True)
class Diagnostic:
    path: str
    line: int
    column: int
    end_line: int
    end_column: int
    code: str
    name: str
    message: str
    fix: Fix | None = field(default=None)

    def sort_key(self) -> tuple[str, int, int, str, str]:
        return (self.path, self.line, self.column, self.code, self.message)

    def to_dict(self) -> dict[str, Any]:
        """The element of the JSON output format (a stable interface, see docs/formats.md)."""
        return {
            "path": self.path,
            "line": self.line,
            "column": self.column,
            "end_line": self.end_line,
            "end_column": self.end_column,
            "code": self.code,
            "name": self.name,
            "message": self.message,
            "fix": None if self.fix is None else self.fix.to_dict(),
        }


@dataclass
class RunResult:
    """What one `asynclint check` run found, ready for any renderer."""

    diagnostics: list[Diagnostic]
    """Sorted by :meth:`Diagnostic.sort_key`."""
    sources: dict[str, str]
    """Decoded text of each file that has diagnostics, by the same path, for snippets."""
    files_checked: int
    errors: list[str] = field(default_factory=list)
    """One line per path that could not be checked at all (missing, unreadable)."""
