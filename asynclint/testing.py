"""Turn a rule's ``Valid``/``Invalid`` examples into checks (usable by plugin authors).

Markers: ``# error: ASL102`` on the line where the finding starts, ``# error: ASL102@5`` to
pin the 1-based column too; several codes are separated by commas. Each function returns
a list of problems (empty when the rule behaves), so test failures say exactly what differs.
"""

from __future__ import annotations

import contextlib
import difflib
import inspect
import os
import re
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

import libcst as cst

from asynclint import index
from asynclint.engine import FileJob, check_file, check_source
from asynclint.fixer import FixRequest
from asynclint.rule import DOC_SECTIONS, Example, Invalid, Rule

_MARKER = re.compile(r"#\s*error:\s*(?P<marks>ASL\d{3}(?:@\d+)?(?:\s*,\s*ASL\d{3}(?:@\d+)?)*)")


@dataclass(frozen=True, order=True)
class Mark:
    path: str
    line: int
    code: str
    column: int | None = None


def marks(files: Mapping[str, str]) -> list[Mark]:
    """The findings an example's markers promise."""
    found = []
    for path, text in files.items():
        for number, line in enumerate(text.splitlines(), start=1):
            match = _MARKER.search(line)
            if match is None:
                continue
            for mark in match.group("marks").split(","):
                code, _, column = mark.strip().partition("@")
                found.append(Mark(path, number, code, int(column) if column else None))
    return sorted(found)


def run(rule: type[Rule], files: Mapping[str, str], options: Mapping[str, object]) -> list[Mark]:
    """What the rule reports on the example's files, as marks with columns.

    As the CLI does, the files are checked against a project index of all of them, so
    multi-file examples resolve imports between their modules; they are written to a
    temporary directory first because module names come from the package layout on disk.
    """
    found = []
    with _project(files) as paths:
        for path, text in filter(lambda item: _is_python(item[0]), files.items()):
            for diagnostic in check_source(text, paths[path], {rule.code}, {rule.code: options}):
                found.append(Mark(path, diagnostic.line, diagnostic.code, diagnostic.column))
    return sorted(found)


@contextlib.contextmanager
def _project(files: Mapping[str, str]) -> Iterator[dict[str, str]]:
    """`files` written to a temporary directory and indexed as the active project; yields
    where each was written."""
    with tempfile.TemporaryDirectory() as root:
        paths = {path: _write(root, path, text) for path, text in files.items()}
        previous = index.active()
        index.set_active(index.build(paths.values()))
        try:
            yield paths
        finally:
            index.set_active(previous)


def _write(root: str, path: str, text: str) -> str:
    full = os.path.join(root, path)
    os.makedirs(os.path.dirname(full), exist_ok=True)
    with open(full, "w", encoding="utf-8") as file:
        file.write(text)
    return full


def compare(expected: list[Mark], actual: list[Mark]) -> list[str]:
    """Problems: expected marks not reported, reported findings not expected."""
    problems = []
    unmatched = list(actual)
    for mark in expected:
        hit = next(
            (
                got
                for got in unmatched
                if (got.path, got.line, got.code) == (mark.path, mark.line, mark.code)
                and mark.column in (None, got.column)
            ),
            None,
        )
        if hit is None:
            problems.append(f"missing {mark.code} at {mark.path}:{mark.line}:{mark.column or '?'}")
        else:
            unmatched.remove(hit)
    problems.extend(f"unexpected {m.code} at {m.path}:{m.line}:{m.column}" for m in unmatched)
    return problems


def check_example(rule: type[Rule], example: Example) -> list[str]:
    files = example.files()
    expected = marks(files)
    if isinstance(example, Invalid) and not expected:
        return ["an Invalid example must mark at least one line with `# error: CODE`"]
    return compare(expected, run(rule, files, example.options))


def with_noqa(files: Mapping[str, str], code: str) -> dict[str, str]:
    """The example with ``# noqa: CODE`` appended to every marked line."""
    result = {}
    for path, text in files.items():
        lines = [
            f"{line}  # noqa: {code}" if _MARKER.search(line) else line
            for line in text.splitlines()
        ]
        result[path] = "\n".join(lines) + "\n"
    return result


def check_noqa(rule: type[Rule], example: Example) -> list[str]:
    """Suppressing each marked line removes exactly its findings."""
    found = run(rule, with_noqa(example.files(), rule.code), example.options)
    return [f"`# noqa: {rule.code}` did not suppress {m.path}:{m.line}" for m in found]


def without_marks(text: str) -> str:
    """The source with its ``# error:`` markers (and the spaces before them) removed."""
    return re.sub(r"[ \t]*" + _MARKER.pattern, "", text)


def apply_fixes(
    rule: type[Rule], path: str, text: str, options: Mapping[str, object]
) -> tuple[str, list[str]]:
    """`text` after the rule's safe and unsafe fixes, applied to a fixpoint as ``--fix
    --unsafe-fixes`` does, and the problems met on the way (fixes left out, errors)."""
    with _project({path: text}) as paths:
        job = FileJob(
            paths[path],
            frozenset({rule.code}),
            {rule.code: options},
            text.encode(),
            fix=FixRequest(True),
        )
        result = check_file(job)
        written = paths[path]
    problems = [result.error] if result.error else []
    if result.fix is None:
        return text, problems
    problems += [dropped.replace(written, path) for dropped in result.fix.dropped]
    output = result.fix.output
    return (text if output is None else output.decode()), problems


def check_fix(rule: type[Rule], example: Example) -> list[str]:
    """An example's `fixed=`: the fixed text matches, compiles, no longer makes the rule
    report, and fixing it again changes nothing."""
    if example.fixed is None:
        return []
    files = example.files()
    if not isinstance(example, Invalid) or len(files) != 1:
        return ["`fixed=` belongs to an Invalid example with a single file"]
    [(path, text)] = files.items()
    expected = inspect.cleandoc(example.fixed) + "\n"
    output, problems = apply_fixes(rule, path, without_marks(text), example.options)
    if output != expected:
        diff = difflib.unified_diff(
            expected.splitlines(True), output.splitlines(True), "expected", "fixed"
        )
        return [*problems, "the fixed text differs:\n" + "".join(diff)]
    try:
        compile(output, path, "exec", dont_inherit=True)
    except SyntaxError as error:
        problems.append(f"the fixed text does not compile: {error.msg} (line {error.lineno})")
    remaining = run(rule, {path: output}, example.options)
    problems += [f"still reports {m.code} at {m.path}:{m.line} once fixed" for m in remaining]
    again, _ = apply_fixes(rule, path, output, example.options)
    if again != output:
        problems.append("a second fix pass changed the fixed text")
    return problems


class _StripAsync(cst.CSTTransformer):
    def leave_FunctionDef(
        self, original: cst.FunctionDef, updated: cst.FunctionDef
    ) -> cst.FunctionDef:
        return updated.with_changes(asynchronous=None)

    def leave_With(self, original: cst.With, updated: cst.With) -> cst.With:
        return updated.with_changes(asynchronous=None)

    def leave_For(self, original: cst.For, updated: cst.For) -> cst.For:
        return updated.with_changes(asynchronous=None)

    def leave_CompFor(self, original: cst.CompFor, updated: cst.CompFor) -> cst.CompFor:
        return updated.with_changes(asynchronous=None)

    def leave_Await(self, original: cst.Await, updated: cst.Await) -> cst.BaseExpression:
        return updated.expression.with_changes(lpar=updated.lpar, rpar=updated.rpar)


def _is_python(path: str) -> bool:
    """Examples may hold configuration files (``pyproject.toml``, ``setup.cfg``) too."""
    return path.endswith((".py", ".pyi"))


def strip_async(text: str) -> str:
    """The same code with every ``async`` and ``await`` removed."""
    return cst.parse_module(text).visit(_StripAsync()).code


def check_sync_variant(rule: type[Rule], example: Example) -> list[str]:
    """An async-only rule says nothing once the example has no async code left."""
    files = {
        path: strip_async(text) if _is_python(path) else text
        for path, text in example.files().items()
    }
    found = run(rule, files, example.options)
    return [f"reported {m.code} at {m.path}:{m.line} with async stripped" for m in found]


def check_metadata(rule: type[Rule]) -> list[str]:
    """Documentation sections, options and message conventions."""
    problems = []
    sections = rule.doc_sections()
    if list(sections) != list(DOC_SECTIONS):
        problems.append(f"doc sections are {list(sections)}, expected {list(DOC_SECTIONS)}")
    documented = set(re.findall(r"^- `([a-z0-9-]+)`", sections.get("Options", ""), re.M))
    declared = {option.name for option in rule.options}
    if documented != declared:
        problems.append(f"options documented {sorted(documented)} != declared {sorted(declared)}")
    if not declared and sections.get("Options") != "None.":
        problems.append("a rule without options says `None.` under Options")
    if not re.fullmatch(r"ASL\d{3}", rule.code):
        problems.append(f"code {rule.code!r} is not ASL + three digits")
    if not re.fullmatch(r"[a-z]+(?:-[a-z]+)*", rule.name):
        problems.append(f"name {rule.name!r} is not kebab-case")
    if rule.message.endswith("."):
        problems.append("message ends with a period")
    if rule.fix_applicability is not None and not rule.fix_title:
        problems.append("a rule with a fix needs a fix_title")
    return problems
