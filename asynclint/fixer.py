"""Fixes: from a rule's :class:`~asynclint.rule.Autofix` to text edits, and from edits to a
fixed file.

Fixes are applied as text edits on the source rather than by transforming the tree: the
edits are exactly what the JSON output shows, everything outside them stays byte for byte
(line endings, comments, formatting), and only plain data crosses process boundaries. A
round applies every non-overlapping fix at once (the first by position wins, the others
wait for the next round), adds the imports they need once (LibCST's
``AddImportsVisitor``), accepts the result only if it is as valid as the original (compiles
when the original compiled, encodes in the file's encoding) and re-lints it. Rounds repeat
until nothing is left to fix, at most :data:`MAX_ROUNDS` times.
"""

from __future__ import annotations

import ast
import contextlib
import difflib
import os
import re
import stat
import tempfile
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import libcst as cst
from libcst.metadata import CodeRange

from asynclint import source as sources
from asynclint.diagnostic import Applicability, Diagnostic, Edit, Fix
from asynclint.rule import Autofix, Change, InsertAfter

MAX_ROUNDS = 10
"""Fix, re-lint, fix again: a rule whose fix keeps creating new findings stops here."""

_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+")
_INDENT = re.compile(r"[ \t\f]*")

Lint = Callable[[cst.Module, str], list[Diagnostic]]
"""Re-check a fixed text (already parsed): its diagnostics, suppressions applied."""


@dataclass(frozen=True)
class FixRequest:
    """What ``--fix``, ``--unsafe-fixes`` and ``--diff`` ask of a worker."""

    unsafe: bool = False
    """Apply unsafe fixes as well as safe ones."""
    diff: bool = False
    """Compute a unified diff and write nothing."""


@dataclass(frozen=True)
class FixOutcome:
    """What fixing one file did, kept small: it travels back from a worker."""

    fixed: int
    """Fixes applied (or, with ``--diff``, that would be)."""
    diff: str = ""
    output: bytes | None = None
    """The fixed bytes of standard input; None when nothing changed."""
    dropped: tuple[str, ...] = ()
    """One line per fix left out because its result would not parse or encode."""


# -- from Autofix to edits ------------------------------------------------------------------


def to_fix(
    autofix: Autofix,
    module: cst.Module,
    positions: Mapping[cst.CSTNode, CodeRange],
    lines: Sequence[str],
) -> Fix:
    """The text edits of `autofix`, in source order, against the file as it was parsed."""
    assert autofix.applicability is not None and autofix.title is not None
    edits = [_edit(change, module, positions, lines) for change in autofix.changes]
    edits.sort(key=lambda edit: (edit.line, edit.column, edit.end_line, edit.end_column))
    return Fix(autofix.applicability, autofix.title, tuple(edits), autofix.imports)


def _edit(
    change: Change,
    module: cst.Module,
    positions: Mapping[cst.CSTNode, CodeRange],
    lines: Sequence[str],
) -> Edit:
    node = change.node
    if node not in positions:
        raise ValueError(f"a fix changes a {type(node).__name__} that is not in the module")
    where = positions[node]
    start, end = where.start, where.end
    if isinstance(change, InsertAfter):
        if isinstance(node, cst.BaseSmallStatement):
            content = "; " + _small_statements(change.new, module)
            return Edit(end.line, end.column + 1, end.line, end.column + 1, content)
        indent = _indent(lines[start.line - 1])
        content = module.default_newline + indent + _statements(change.new, module, indent)
        column = len(lines[end.line - 1]) + 1
        return Edit(end.line, column, end.line, column, content)
    if isinstance(node, cst.BaseStatement):
        content = _statements(change.new, module, _indent(lines[start.line - 1]))
    elif isinstance(node, cst.BaseSmallStatement):
        content = _small_statements(change.new, module)
    else:
        content = _expression(change.new, node, module)
    return Edit(start.line, start.column + 1, end.line, end.column + 1, content)


def _indent(line: str) -> str:
    match = _INDENT.match(line)
    return match.group() if match else ""


def _parse(code: str, module: cst.Module) -> Sequence[cst.BaseStatement]:
    """A rule's source text as statements, in the file's line endings."""
    normal = code.replace("\r\n", "\n").replace("\n", module.default_newline)
    return cst.parse_module(normal, config=module.config_for_parsing).body


def _statements(new: cst.CSTNode | str, module: cst.Module, indent: str) -> str:
    """`new` as statements starting at `indent` (the first line without it, no final newline).

    Rendering through an indented block indents nested blocks and comment lines the way
    LibCST does, and leaves the lines of multi-line strings alone.
    """
    if isinstance(new, str):
        body = _parse(new, module)
    elif isinstance(new, cst.BaseSmallStatement):
        body = [cst.SimpleStatementLine([new])]
    elif isinstance(new, cst.BaseStatement):
        body = [new]
    else:
        raise TypeError(f"a statement cannot be replaced by a {type(new).__name__}")
    newline = module.default_newline
    if not indent:  # top level: an IndentedBlock cannot have an empty indent
        return module.with_changes(body=body, header=(), footer=()).code.removesuffix(newline)
    code = module.code_for_node(cst.IndentedBlock(body, indent=indent))
    return code.removeprefix(newline).removeprefix(indent).removesuffix(newline)


def _small_statements(new: cst.CSTNode | str, module: cst.Module) -> str:
    """`new` as ``a; b`` to sit on the line of a small statement."""
    small: list[cst.BaseSmallStatement] = []
    if isinstance(new, str):
        for line in _parse(new, module):
            if not isinstance(line, cst.SimpleStatementLine):
                raise ValueError(f"{new!r} is not a simple statement")
            small += line.body
    elif isinstance(new, cst.SimpleStatementLine):
        small += new.body
    elif isinstance(new, cst.BaseSmallStatement):
        small.append(new)
    else:
        raise TypeError(f"a {type(new).__name__} cannot follow a small statement")
    return "; ".join(
        module.code_for_node(s.with_changes(semicolon=cst.MaybeSentinel.DEFAULT)) for s in small
    )


def _expression(new: cst.CSTNode | str, old: cst.CSTNode, module: cst.Module) -> str:
    """`new` in place of `old`, whose own parentheses stay in the file."""
    if isinstance(new, str):
        return new.replace("\r\n", "\n").replace("\n", module.default_newline)
    if isinstance(old, cst.BaseExpression) and isinstance(new, cst.BaseExpression):
        kept = min(len(old.lpar), len(new.lpar))
        new = new.with_changes(lpar=new.lpar[kept:], rpar=new.rpar[: len(new.rpar) - kept])
    return module.code_for_node(new)


# -- applying edits -------------------------------------------------------------------------


def applies(fix: Fix | None, unsafe: bool) -> bool:
    """True when the requested fix level includes `fix` (display-only fixes never apply)."""
    if fix is None or not fix.edits:
        return False
    return fix.applicability is Applicability.SAFE or (
        unsafe and fix.applicability is Applicability.UNSAFE
    )


def select(diagnostics: Iterable[Diagnostic], unsafe: bool) -> list[Diagnostic]:
    """The applicable fixes of one round: by position, skipping any that overlaps or
    touches one already chosen (it is offered again, re-positioned, in the next round)."""
    candidates = [d for d in diagnostics if applies(d.fix, unsafe)]
    candidates.sort(key=lambda d: (_start(d), d.sort_key()))
    chosen: list[Diagnostic] = []
    last_end = (0, 0)
    for diagnostic in candidates:
        if chosen and _start(diagnostic) <= last_end:
            continue
        chosen.append(diagnostic)
        last_end = max(last_end, _end(diagnostic))
    return chosen


def _start(diagnostic: Diagnostic) -> tuple[int, int]:
    assert diagnostic.fix is not None
    return min((edit.line, edit.column) for edit in diagnostic.fix.edits)


def _end(diagnostic: Diagnostic) -> tuple[int, int]:
    assert diagnostic.fix is not None
    return max((edit.end_line, edit.end_column) for edit in diagnostic.fix.edits)


def _line_starts(text: str) -> list[int]:
    """Offset of each line's first character, counting lines as LibCST does."""
    starts = [0]
    for match in _LINE.finditer(text):
        starts.append(match.end())
    return starts


def apply_edits(text: str, fixes: Iterable[Fix]) -> str:
    """`text` with the (non-overlapping) edits of `fixes` applied."""
    starts = _line_starts(text)
    spans = [
        (starts[e.line - 1] + e.column - 1, starts[e.end_line - 1] + e.end_column - 1, e.content)
        for fix in fixes
        for e in fix.edits
    ]
    spans.sort(key=lambda span: (span[0], span[1]))
    pieces = []
    cursor = 0
    for start, end, content in spans:
        pieces += [text[cursor:start], content]
        cursor = end
    pieces.append(text[cursor:])
    return "".join(pieces)


def add_imports(module: cst.Module, imports: Iterable[str]) -> cst.Module:
    """`module` with ``import X`` for each of `imports` not imported yet."""
    # Imported here: ``libcst.codemod`` loads ``libcst.matchers``, half a second of start-up
    # that every run would pay and only fixes that add imports need.
    from libcst.codemod import CodemodContext
    from libcst.codemod.visitors import AddImportsVisitor

    context = CodemodContext()
    for name in sorted(set(imports)):
        AddImportsVisitor.add_needed_import(context, name)
    return AddImportsVisitor(context).transform_module(module)


class Verifier:
    """Accepts a fixed text only when it is as valid as the original was: compiles when the
    original compiled (``await`` outside ``async def`` is caught here, not by the parser),
    parses with :mod:`ast` when the original did, parses with LibCST, and can be encoded
    in the file's encoding."""

    def __init__(self, original: str, path: str, encoding: str) -> None:
        self.path = path
        self.encoding = encoding
        self._original: str | None = original
        self._strictness = 0

    def _level(self) -> int:
        """2: the original compiles, 1: it parses with ast, 0: only LibCST parses it."""
        if self._original is not None:
            original, self._original = self._original, None
            if self._problem(original, 2) is None:
                self._strictness = 2
            elif self._problem(original, 1) is None:
                self._strictness = 1
        return self._strictness

    def _problem(self, text: str, level: int) -> str | None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                if level == 2:
                    compile(text, self.path, "exec", dont_inherit=True)
                elif level == 1:
                    ast.parse(text)
            except SyntaxError as error:
                return f"{error.msg} (line {error.lineno})"
            except (ValueError, RecursionError, MemoryError) as error:
                return f"{type(error).__name__}: {error}"
        return None

    def parse(self, text: str) -> cst.Module | str:
        """The LibCST module of `text`, or why `text` is not acceptable."""
        try:
            text.encode(self.encoding)
        except UnicodeEncodeError as error:
            return f"cannot encode {error.object[error.start : error.end]!r} as {self.encoding}"
        problem = self._problem(text, self._level())
        if problem is not None:
            return problem
        module = sources.parse(sources.Source(text, self.encoding, bom=False))
        if isinstance(module, sources.SourceError):
            return f"{module.message} (line {module.line})"
        return module


@dataclass
class Fixed:
    """The result of fixing one text to a fixpoint."""

    text: str
    diagnostics: list[Diagnostic]
    """What remains, positioned in `text`."""
    count: int = 0
    dropped: list[str] = field(default_factory=list)


def fix_text(
    text: str,
    diagnostics: list[Diagnostic],
    lint: Lint,
    verifier: Verifier,
    *,
    unsafe: bool,
) -> Fixed:
    """Apply fixes, re-lint, repeat until nothing applies or :data:`MAX_ROUNDS` is reached."""
    fixed = Fixed(text, diagnostics)
    rejected: set[tuple[object, ...]] = set()
    for _ in range(MAX_ROUNDS):
        candidates = fixed.diagnostics
        if rejected:
            starts = _line_starts(fixed.text)
            candidates = [
                d
                for d in candidates
                if applies(d.fix, unsafe) and _signature(fixed.text, starts, d) not in rejected
            ]
        chosen = select(candidates, unsafe)
        applied = _apply_round(fixed, chosen, verifier, rejected)
        if applied is None:
            break
        fixed.text, module, count = applied
        fixed.count += count
        fixed.diagnostics = lint(module, fixed.text)
    return fixed


def _apply_round(
    fixed: Fixed,
    chosen: list[Diagnostic],
    verifier: Verifier,
    rejected: set[tuple[object, ...]],
) -> tuple[str, cst.Module, int] | None:
    """All of `chosen` at once; when that fails, each alone to find the culprits, then the
    good ones together, then only the first good one (fixes that clash with each other)."""
    if not chosen:
        return None
    result = _apply(fixed.text, chosen, verifier)
    if not isinstance(result[1], str):
        return result[0], result[1], len(chosen)
    good = []
    for diagnostic in chosen:
        alone = _apply(fixed.text, [diagnostic], verifier)
        if isinstance(alone[1], str):
            rejected.add(_signature(fixed.text, _line_starts(fixed.text), diagnostic))
            fixed.dropped.append(
                f"{diagnostic.path}:{diagnostic.line}:{diagnostic.column}: {diagnostic.code} "
                f"fix not applied, the result would be invalid: {alone[1]}"
            )
        else:
            good.append(diagnostic)
    for attempt in (good, good[:1]):
        if attempt:
            result = _apply(fixed.text, attempt, verifier)
            if not isinstance(result[1], str):
                return result[0], result[1], len(attempt)
    return None


def _apply(
    text: str, chosen: Sequence[Diagnostic], verifier: Verifier
) -> tuple[str, cst.Module | str]:
    fixes = [d.fix for d in chosen if d.fix is not None]
    new = apply_edits(text, fixes)
    imports = [name for fix in fixes for name in fix.imports]
    if imports:
        parsed = verifier.parse(new)
        if isinstance(parsed, str):
            return new, parsed
        new = add_imports(parsed, imports).code
    return new, verifier.parse(new)


def _signature(text: str, starts: Sequence[int], diagnostic: Diagnostic) -> tuple[object, ...]:
    """What identifies a fix across rounds, whose positions shift: its finding, its new
    texts and the text it replaces."""
    assert diagnostic.fix is not None
    replaced = tuple(
        text[starts[e.line - 1] + e.column - 1 : starts[e.end_line - 1] + e.end_column - 1]
        for e in diagnostic.fix.edits
    )
    contents = tuple(e.content for e in diagnostic.fix.edits)
    return (diagnostic.code, diagnostic.message, contents, replaced)


# -- output ---------------------------------------------------------------------------------


def unified_diff(path: str, old: str, new: str) -> str:
    """A unified diff of the change, ``--- path``/``+++ path``, marking a missing final
    newline the way ``diff`` does."""
    lines = []
    for line in difflib.unified_diff(
        _LINE.findall(old), _LINE.findall(new), fromfile=path, tofile=path
    ):
        lines.append(line)
        if not line.endswith(("\n", "\r")):
            lines.append("\n\\ No newline at end of file\n")
    return "".join(lines)


def write_atomic(path: str, data: bytes, expected: bytes) -> str | None:
    """Replace the file's contents with `data`, or say why not.

    The new contents go to a temporary file in the same directory, get the original's
    permission bits, and replace it in one ``os.replace``: a crash leaves the old file or the
    new one, never half of each. A symbolic link is followed (the link stays a link). The
    file is left alone when it no longer holds `expected` (it changed since it was read).
    """
    target = os.path.realpath(path)
    try:
        with open(target, "rb") as file:
            if file.read() != expected:
                return "not written: its bytes are not what was checked (changed meanwhile?)"
        mode = stat.S_IMODE(os.stat(target).st_mode)
        directory, name = os.path.split(target)
        handle, temporary = tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp", dir=directory)
    except OSError as error:
        return f"not written: {error.strerror or error}"
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.chmod(temporary, mode)
        os.replace(temporary, target)
    except BaseException as error:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        if isinstance(error, OSError):
            return f"not written: {error.strerror or error}"
        raise
    return None


def deliver(
    path: str, source: sources.Source, fixed: Fixed, request: FixRequest, *, stdin: bool
) -> tuple[FixOutcome, str | None]:
    """Write the fixed file (or make its diff, or its bytes for standard output); the second
    value says why the file could not be written."""
    dropped = tuple(fixed.dropped)
    if fixed.text == source.text:
        return FixOutcome(0, dropped=dropped), None
    if request.diff:
        diff = unified_diff(path, source.text, fixed.text)
        return FixOutcome(fixed.count, diff, dropped=dropped), None
    data = source.encode(fixed.text)
    if stdin:
        return FixOutcome(fixed.count, output=data, dropped=dropped), None
    error = write_atomic(path, data, source.encode())
    return FixOutcome(0 if error else fixed.count, dropped=dropped), error
