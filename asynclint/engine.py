"""Check files: parse once, run every selected rule in one pass, return plain data.

Per file: decode, guard and parse (:mod:`asynclint.source`), one traversal that keeps the
:class:`~asynclint.context.Context` and dispatches each node to the rules that visit its
type, positions recorded only for the statements with findings, then suppression comments.
"""

from __future__ import annotations

import re
import traceback
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import libcst as cst

from asynclint import collector, fixer, prefilter, suppress
from asynclint import source as sources
from asynclint.context import TRACKED, Context
from asynclint.diagnostic import Diagnostic
from asynclint.registry import all_rules
from asynclint.rule import Report, Rule
from asynclint.scope import emptied_after
from asynclint.walk import Walker

SYNTAX_ERROR = "ASL900"
_LINE_BREAK = re.compile(r"\r\n|\r|\n")


@dataclass(frozen=True)
class FileJob:
    """One file to check and the settings that apply to it."""

    path: str
    codes: frozenset[str]
    options: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    data: bytes | None = None
    """The file's bytes when they do not come from disk (standard input)."""
    verbose: bool = False
    fix: fixer.FixRequest | None = None
    """Apply fixes; the result then lists the findings that remain."""
    prefilter: bool = True
    """Skip the rules (and the LibCST parse) that cannot fire here (:mod:`asynclint.prefilter`)."""
    cache_key: str = ""
    """What the findings depend on beyond this file (:mod:`asynclint.cache`); empty: the
    findings are not cached."""


@dataclass
class FileResult:
    path: str
    diagnostics: list[Diagnostic]
    text: str | None = None
    """The decoded source, kept only when there are diagnostics (for snippets)."""
    error: str | None = None
    """Why the file could not be checked at all (unreadable, internal error)."""
    internal: bool = False
    fix: fixer.FixOutcome | None = None


def source_lines(text: str) -> list[str]:
    """Lines as Python's tokenizer counts them (not ``str.splitlines``, which also
    breaks on form feeds and Unicode separators)."""
    return _LINE_BREAK.split(text)


def _visit(module: cst.Module, context: Context, rules: Sequence[Rule]) -> None:
    """The single pass: context first on the way in, last on the way out. It reads the tree
    (:mod:`asynclint.walk`) instead of letting LibCST rebuild every node it passes."""
    visits: dict[type[cst.CSTNode], list[Callable[[Any], None]]] = {}
    leaves: dict[type[cst.CSTNode], list[Callable[[Any], None]]] = {}
    for rule in rules:
        for attribute, node_type in _handlers(type(rule)):
            table = visits if attribute.startswith("visit_") else leaves
            table.setdefault(node_type, []).append(getattr(rule, attribute))
    Walker(context.enter, context.leave, visits, leaves, TRACKED).walk(module)


_HANDLERS: dict[type[Rule], list[tuple[str, type[cst.CSTNode]]]] = {}


def _handlers(rule: type[Rule]) -> list[tuple[str, type[cst.CSTNode]]]:
    """The ``visit_X``/``leave_X`` methods of a rule class with their node types."""
    if rule not in _HANDLERS:
        found = []
        for attribute in dir(rule):
            prefix, _, node_name = attribute.partition("_")
            if prefix in ("visit", "leave") and node_name:
                node_type = getattr(cst, node_name, None)
                if not (isinstance(node_type, type) and issubclass(node_type, cst.CSTNode)):
                    raise TypeError(f"{rule.__name__}.{attribute}: no LibCST node {node_name}")
                found.append((attribute, node_type))
        _HANDLERS[rule] = found
    return _HANDLERS[rule]


def selected_rules(codes: Iterable[str]) -> list[type[Rule]]:
    wanted = set(codes)
    return [rule for rule in all_rules() if rule.code in wanted]


def analyse(
    module: cst.Module,
    path: str,
    rules: Sequence[type[Rule]],
    options: Mapping[str, Mapping[str, Any]],
    lines: Sequence[str],
    text: str | None = None,
    lines_at: Sequence[tuple[int, int]] | None = None,
) -> list[Diagnostic]:
    """Run `rules` over a parsed module (whose source is `text` when known, with its
    logical lines starting at `lines_at`, as the parse guard saw them); suppressed
    findings are dropped."""
    with collector.paused(), emptied_after():
        context = Context(path, module, text, lines_at)
        reports: list[Report] = []
        instances = [rule(context, options.get(rule.code, {}), reports) for rule in rules]
        try:
            _visit(module, context, instances)
            return _diagnostics(_most_specific(reports), context, lines)
        finally:
            _end_pass(context, instances)


def _diagnostics(reports: list[Report], context: Context, lines: Sequence[str]) -> list[Diagnostic]:
    if not reports:
        return []
    positions = context.positions
    diagnostics = []
    for report in reports:
        where = positions.within(report.trail, report.node)[report.node]
        first, last = where.start.line, where.end.line
        if report.statement is not None:
            statement = positions[report.statement]
            first, last = statement.start.line, statement.end.line
        if report.rule.suppressible and suppress.is_suppressed(
            lines, first, last, report.rule.code, report.rule.name
        ):
            continue
        fix = None
        if report.fix is not None:
            if not all(positions.recorded(change.node) for change in report.fix.changes):
                positions.within(_to_function(report.trail))
            fix = fixer.to_fix(report.fix, context.module, positions, lines)
        diagnostics.append(
            Diagnostic(
                path=context.path,
                line=where.start.line,
                column=where.start.column + 1,
                end_line=where.end.line,
                end_column=where.end.column + 1,
                code=report.rule.code,
                name=report.rule.name,
                message=report.message,
                fix=fix,
            )
        )
    return diagnostics


def _to_function(trail: Sequence[cst.CSTNode]) -> Sequence[cst.CSTNode]:
    """`trail` up to the innermost function in it: what a fix changes is usually in the
    function of the finding (a block it restructures), rarely in its statement alone, and
    recording that function is much cheaper than recording the module."""
    for end in range(len(trail), 0, -1):
        if type(trail[end - 1]) is cst.FunctionDef:
            return trail[:end]
    return trail


def _end_pass(context: Context, rules: Sequence[Rule]) -> None:
    """Forget what the pass built. Rules and what they share often form cycles (a rule
    handing its own method to a helper it keeps); emptied, those cycles no longer hold the
    file's tree, which reference counting then frees as soon as the caller drops it,
    instead of the garbage collector walking all of it (a tenth of the check's time)."""
    context.close()
    for rule in rules:
        vars(rule).clear()


def _most_specific(reports: list[Report]) -> list[Report]:
    """Drop a finding when a more specific rule reported the same node (`Rule.supersedes`)."""
    covered = {(id(r.node), code) for r in reports for code in r.rule.supersedes}
    if not covered:
        return reports
    return [r for r in reports if (id(r.node), r.rule.code) not in covered]


def _syntax_error(path: str, error: sources.SourceError) -> Diagnostic:
    return Diagnostic(
        path=path,
        line=error.line,
        column=error.column,
        end_line=error.line,
        end_column=error.column + 1,
        code=SYNTAX_ERROR,
        name="syntax-error",
        message=error.message,
    )


def check_source(
    data: bytes | str,
    path: str = "<string>",
    codes: Iterable[str] | None = None,
    options: Mapping[str, Mapping[str, Any]] | None = None,
    *,
    prefilter: bool = True,
) -> list[Diagnostic]:
    """Check one file's contents in this process (the public API and the test harness)."""
    selected = frozenset(codes) if codes is not None else frozenset(r.code for r in all_rules())
    raw = data.encode("utf-8") if isinstance(data, str) else data
    result = check_file(FileJob(path, selected, options or {}, raw, prefilter=prefilter))
    if result.error is not None:
        raise RuntimeError(result.error)
    return result.diagnostics


def check_file(job: FileJob) -> FileResult:
    """Check one file; every failure becomes data, never an exception."""
    try:
        return _check_file(job)
    except Exception as error:  # a rule crashed: report it, keep the run going
        detail = traceback.format_exc() if job.verbose else f"{type(error).__name__}: {error}"
        return FileResult(job.path, [], error=f"internal error: {detail}", internal=True)


def _check_file(job: FileJob) -> FileResult:
    if job.data is None:
        loaded = sources.read(job.path)
        if isinstance(loaded, str):
            return FileResult(job.path, [], error=loaded)
    else:
        loaded = sources.decode(job.data)
    if isinstance(loaded, sources.SourceError):
        return _failed(job, loaded, None)
    text = loaded.text
    if suppress.skips_file(text):
        return FileResult(job.path, [])
    rules = selected_rules(job.codes - {SYNTAX_ERROR})
    with collector.paused():
        if job.prefilter and job.fix is None:
            active = [rule for rule in rules if _handlers(rule)]
            rules = prefilter.applicable(active, text, job.path, job.options)
            if not rules and (SYNTAX_ERROR not in job.codes or prefilter.admitted(text, job.path)):
                return FileResult(job.path, [])
        diagnostics = _parse_and_analyse(job, text, loaded, rules)
    if isinstance(diagnostics, FileResult):
        return diagnostics
    if job.fix is not None:
        return _fix(job, job.fix, loaded, diagnostics, rules)
    return FileResult(job.path, diagnostics, text if diagnostics else None)


def _parse_and_analyse(
    job: FileJob, text: str, loaded: sources.Source, rules: list[type[Rule]]
) -> list[Diagnostic] | FileResult:
    """The findings, or the result of a file that cannot be parsed or analysed. The tree is
    built and dropped in here, with the collector paused: it never walks the tree."""
    parsed = sources.parse_scanned(loaded)
    if isinstance(parsed, sources.SourceError):
        return _failed(job, parsed, text)
    module, lines_at = parsed
    try:
        # Trees the parse guard admits can be thousands of levels deep: visit them on a
        # thread with a large stack, like the parse itself.
        return sources.run_deep(
            analyse, module, job.path, rules, job.options, source_lines(text), text, lines_at
        )
    except RecursionError:
        return _failed(job, sources.SourceError("too deeply nested to analyse", 1, 1), text)


def _fix(
    job: FileJob,
    request: fixer.FixRequest,
    source: sources.Source,
    diagnostics: list[Diagnostic],
    rules: Sequence[type[Rule]],
) -> FileResult:
    """Fix to a fixpoint, re-linting with the same rules and options after every round
    (on the deep-stack thread, like the first analysis)."""

    def lint(module: cst.Module, text: str) -> list[Diagnostic]:
        return analyse(module, job.path, rules, job.options, source_lines(text), text)

    verifier = fixer.Verifier(source.text, job.path, source.encoding)
    fixed = sources.run_deep(
        fixer.fix_text, source.text, diagnostics, lint, verifier, unsafe=request.unsafe
    )
    outcome, error = fixer.deliver(job.path, source, fixed, request, stdin=job.data is not None)
    if error is not None or request.diff:
        fixed.text, fixed.diagnostics = source.text, diagnostics
    remaining = fixed.diagnostics
    return FileResult(job.path, remaining, fixed.text if remaining else None, error, fix=outcome)


def _failed(job: FileJob, error: sources.SourceError, text: str | None) -> FileResult:
    if SYNTAX_ERROR not in job.codes:
        return FileResult(job.path, [])
    return FileResult(job.path, [_syntax_error(job.path, error)], text)
