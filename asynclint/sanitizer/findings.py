"""What the sanitizer reports: the checks it knows and the findings they produce.

A finding is plain data (no reference to the task, coroutine or loop it describes) so that
keeping every finding of a long test run holds no object alive and changes no finalizer
order, and so findings can be printed, turned into JSON or sent between processes.
"""

from __future__ import annotations

import linecache
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Check:
    code: str
    name: str
    explanation: str
    static_twins: tuple[str, ...]
    """Static rules that catch the same bug before it runs."""
    default: bool = True
    """On unless the ``checks`` option says otherwise (opt-in checks cost more)."""


CHECKS: dict[str, Check] = {
    check.code: check
    for check in (
        Check(
            "ASL601",
            "coroutine-never-awaited",
            "a coroutine object was created and destroyed without being awaited, so its body"
            " never ran",
            ("ASL101", "ASL103", "ASL105"),
        ),
        Check(
            "ASL602",
            "task-destroyed-pending",
            "a task was garbage-collected while still pending: its coroutine stopped half-way"
            " and never finished",
            ("ASL102",),
        ),
        Check(
            "ASL603",
            "task-leaked",
            "a task was still pending when its runner (asyncio.run, a Runner or a test)"
            " ended; it would have been cancelled silently",
            ("ASL102", "ASL206"),
        ),
        Check(
            "ASL604",
            "task-exception-never-retrieved",
            "a task failed and nothing awaited it or asked for its result, so the exception"
            " was lost",
            ("ASL102",),
        ),
        Check(
            "ASL605",
            "event-loop-blocked",
            "one callback or coroutine step ran longer than the block threshold without"
            " yielding, so every other task waited",
            ("ASL301", "ASL302", "ASL303", "ASL304", "ASL305", "ASL306", "ASL307"),
        ),
        Check(
            "ASL606",
            "cancellation-swallowed",
            "a task was cancelled but finished normally or with another exception, without"
            " uncancel(): a handler caught the CancelledError and did not re-raise it, so"
            " whoever cancelled the task cannot stop it",
            ("ASL203", "ASL205"),
        ),
        Check(
            "ASL607",
            "async-generator-not-finalized",
            "an async generator was left suspended and only closed by the garbage collector"
            " or the loop shutdown, so its cleanup ran late and out of context",
            ("ASL202",),
        ),
        Check(
            "ASL608",
            "resource-not-closed",
            "a transport or event loop was garbage-collected while still open",
            ("ASL201", "ASL202"),
        ),
        Check(
            "ASL609",
            "loop-called-from-wrong-thread",
            "a method of a running event loop that is not thread-safe was called from another"
            " thread; use call_soon_threadsafe or run_coroutine_threadsafe",
            (),
            default=False,
        ),
        Check(
            "ASL610",
            "deadlock",
            "tasks are waiting for something that will never happen: each needs a lock,"
            " semaphore or result that another one of them holds, or nothing at all can wake"
            " them",
            ("ASL404",),
        ),
    )
}
DEFAULT_CHECKS = frozenset(code for code, check in CHECKS.items() if check.default)
_BY_NAME = {check.name: code for code, check in CHECKS.items()}


def check_code(text: str) -> str | None:
    """The code for a check given by code (any case) or by name."""
    upper = text.strip().upper()
    if upper in CHECKS:
        return upper
    return _BY_NAME.get(text.strip().lower())


@dataclass(frozen=True)
class Frame:
    filename: str
    lineno: int
    function: str

    def __str__(self) -> str:
        return f"{self.filename}:{self.lineno} in {self.function}"


def format_site(site: tuple[Frame, ...], indent: str) -> list[str]:
    """Traceback-order lines for an innermost-first site, each with its source line."""
    lines = []
    for frame in reversed(site):
        lines.append(f"{indent}{frame}")
        source = linecache.getline(frame.filename, frame.lineno).strip()
        if source:
            lines.append(f"{indent}  {source}")
    return lines


@dataclass(frozen=True)
class Finding:
    code: str
    subject: str
    """The object: ``task 'Task-3' running worker()``, ``coroutine fetch()``, ..."""
    site: tuple[Frame, ...]
    """User frames, innermost (the line that created the object) first."""
    detail: str = ""
    site_label: str = "created at"
    tags: tuple[str, ...] = ()
    """Names that ignore patterns match: task name, coroutine qualnames."""
    wide_scope: bool = field(default=False, compare=False)
    """Owned by a fixture wider than one test, so no single test is to blame."""

    @property
    def check(self) -> Check:
        return CHECKS[self.code]

    @property
    def location(self) -> Frame | None:
        return self.site[0] if self.site else None

    def headline(self) -> str:
        return f"{self.code} {self.check.name}: {self.subject}"

    def render(self) -> str:
        """The multi-line text report, traceback order (most recent call last)."""
        check = self.check
        lines = [f"asyncsan {self.headline()}", f"  {check.explanation}"]
        lines.extend(f"  {line}" for line in self.detail.splitlines())
        if self.site:
            lines.append(f"  {self.site_label} (most recent call last):")
            lines.extend(format_site(self.site, "    "))
        else:
            lines.append(f"  {self.site_label}: unknown (no user frame recorded)")
        lines.append(f"  static twin: {', '.join(check.static_twins) or 'none'}")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "name": self.check.name,
            "explanation": self.check.explanation,
            "subject": self.subject,
            "detail": self.detail,
            "site": [
                {"path": f.filename, "line": f.lineno, "function": f.function} for f in self.site
            ],
            "static_twins": list(self.check.static_twins),
            "site_label": self.site_label,
            "tags": list(self.tags),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Finding:
        """Rebuild a finding sent by another process (a pytest-xdist worker)."""
        site = tuple(Frame(f["path"], f["line"], f["function"]) for f in data["site"])
        return cls(
            data["code"],
            data["subject"],
            site,
            detail=data["detail"],
            site_label=data["site_label"],
            tags=tuple(data["tags"]),
        )
