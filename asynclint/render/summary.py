"""The closing line every human format prints, and what counts as fixable.

Only SAFE fixes count: ``--fix`` applies nothing else, so promising more would be a lie.
"""

from __future__ import annotations

from asynclint.diagnostic import Applicability, Diagnostic, RunResult


def is_fixable(diagnostic: Diagnostic) -> bool:
    """True when ``--fix`` would apply this diagnostic's fix."""
    return diagnostic.fix is not None and diagnostic.fix.applicability is Applicability.SAFE


def summary_line(result: RunResult) -> str:
    """``Found 3 problems (1 fixable with --fix).``, or ``All checks passed!`` when clean.

    A run with unreadable paths but no findings did not pass every check, so it reports
    ``Found 0 problems.`` under its ``error:`` lines instead of claiming success.
    """
    count = len(result.diagnostics)
    if count == 0 and not result.errors:
        return "All checks passed!"
    noun = "problem" if count == 1 else "problems"
    fixable = sum(1 for diagnostic in result.diagnostics if is_fixable(diagnostic))
    detail = f" ({fixable} fixable with --fix)" if fixable else ""
    return f"Found {count} {noun}{detail}."
