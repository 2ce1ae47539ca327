"""The rule base class: metadata, documentation, examples and reporting.

A rule is one module under ``asynclint/rules/``. Its class docstring is its documentation
(printed by ``asynclint rule CODE`` and written to ``docs/rules/``), its ``examples`` become
tests automatically, and its ``visit_<Node>``/``leave_<Node>`` methods are called by the
engine's single combined pass with :attr:`context` already describing where the node sits.

A rule offers a fix by describing it as data on the report; the engine turns it into text
edits and ``asynclint check --fix`` applies them::

    self.report(
        call,
        fix=Autofix(Replace(call.func, "asyncio.get_running_loop"), imports=["asyncio"]),
    )
    self.report(handler, fix=Autofix(InsertAfter(handler.body.body[-1], "raise")))
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

import libcst as cst

from asynclint.diagnostic import Applicability

if TYPE_CHECKING:
    from asynclint.context import Context

DOC_SECTIONS = (
    "What it does",
    "Why is this bad?",
    "Example",
    "Use instead",
    "Fix safety",
    "Options",
)
DOCS_BASE_URL = "https://github.com/asynclint/asynclint/blob/main/docs/rules/"


@dataclass(frozen=True)
class Option:
    """A per-rule setting, read from ``[tool.asynclint.rules.<rule-name>]``."""

    name: str
    default: Any
    description: str

    def check(self, value: object) -> str | None:
        """Return why `value` does not fit this option's type, or None when it does."""
        expected = type(self.default)
        if isinstance(self.default, list):
            if isinstance(value, list) and all(isinstance(item, str) for item in value):
                return None
            return "expected a list of strings"
        if isinstance(value, expected) and not (expected is int and isinstance(value, bool)):
            return None
        return f"expected {expected.__name__}"


@dataclass(frozen=True)
class Example:
    """Source marked with ``# error: CODE`` where the rule must report.

    `source` is one file's text, or a mapping of relative paths to texts for examples that
    need several modules. `fixed` is what a single-file example becomes, once its
    ``# error:`` markers are removed, when the rule's fixes (safe and unsafe) are applied to
    a fixpoint; every finding of the example must be fixed (:func:`asynclint.testing.check_fix`).
    """

    source: str | Mapping[str, str]
    fixed: str | None = None
    options: Mapping[str, Any] = field(default_factory=dict)
    min_python: tuple[int, int] | None = None

    def files(self) -> dict[str, str]:
        if isinstance(self.source, str):
            return {"example.py": inspect.cleandoc(self.source) + "\n"}
        return {path: inspect.cleandoc(text) + "\n" for path, text in self.source.items()}


class Valid(Example):
    """An example the rule must stay silent on."""


class Invalid(Example):
    """An example the rule must flag exactly on the lines marked ``# error: CODE``."""


@dataclass(frozen=True)
class Replace:
    """Replace `node` with `new`: a LibCST node, or source text.

    The replaced span is the node without its parentheses, leading comment lines and
    trailing comment, which all stay. A statement (or a string replacing one) may become
    several statements and is indented like `node`; a node that is an expression is
    rendered without as many levels of parentheses as `node` keeps.
    """

    node: cst.CSTNode
    new: cst.CSTNode | str


@dataclass(frozen=True)
class InsertAfter:
    """Insert `new` (statements: nodes or source text) after `node`.

    After a statement (``SimpleStatementLine`` or a compound statement) the new statements
    go on the following lines with the same indentation; after a small statement (the
    body of ``except E: pass``) they are appended on the same line as ``; new``. So
    ``InsertAfter(block.body[-1], "raise")`` fits both kinds of suite.
    """

    node: cst.BaseStatement | cst.BaseSmallStatement
    new: cst.BaseStatement | cst.BaseSmallStatement | str


Change = Replace | InsertAfter


class Autofix:
    """A fix as data: what to change, and what it needs imported.

    `title` and `applicability` default to the rule's :attr:`Rule.fix_title` and
    :attr:`Rule.fix_applicability`. `imports` are module names (``"asyncio"``) the new code
    uses; ``import asyncio`` is added once, after the file's imports, unless already there.
    Each change's `node` is a node of the tree the rule visits; all changes of one fix are
    applied together or not at all. The shared rule test checks each example's `fixed=`.
    """

    def __init__(
        self,
        *changes: Change,
        imports: Iterable[str] = (),
        title: str | None = None,
        applicability: Applicability | None = None,
    ) -> None:
        if not changes:
            raise ValueError("an Autofix needs at least one change")
        self.changes = changes
        self.imports = tuple(imports)
        self.title = title
        self.applicability = applicability


@dataclass
class Report:
    """A finding still attached to its node; the engine turns it into a Diagnostic."""

    rule: type[Rule]
    node: cst.CSTNode
    message: str
    statement: cst.CSTNode | None
    """The simple statement holding `node`: a suppression comment on any of its lines counts."""
    trail: tuple[cst.CSTNode, ...]
    """The tracked nodes the pass was in, outermost first (where `node` usually is)."""
    fix: Autofix | None = None
    """Its title and applicability are always set (the rule's defaults filled in)."""


class Rule:
    """Base class of every rule; subclasses set the metadata and visit nodes."""

    code: ClassVar[str]
    name: ClassVar[str]
    message: ClassVar[str]
    fix_title: ClassVar[str | None] = None
    fix_applicability: ClassVar[Applicability | None] = None
    default_enabled: ClassVar[bool] = True
    suppressible: ClassVar[bool] = True
    async_only: ClassVar[bool] = False
    """True when the rule can only fire in async code: the shared test then checks that
    stripping ``async``/``await`` from each invalid example silences it."""
    spelled: ClassVar[frozenset[str]] = frozenset()
    """Names one of which every finding is about (a hook the rule checks, the assertion it
    flags): a file that spells none of them anywhere gets no finding, and the pre-filter
    drops the rule there. Only names code cannot rename: methods and attributes, never an
    imported name (an alias or a re-export renames it). Empty: no such names."""
    supersedes: ClassVar[frozenset[str]] = frozenset()
    """Codes of broader rules that report the same node with less specific advice (ASL103's
    teardown advice beats ASL101's "never awaited"): when both report a node, only this
    rule's finding is kept, so one bug is one finding."""
    options: ClassVar[tuple[Option, ...]] = ()
    examples: ClassVar[tuple[Example, ...]] = ()

    def __init__(self, context: Context, settings: Mapping[str, Any], reports: list[Report]):
        self.context = context
        self.settings = {opt.name: settings.get(opt.name, opt.default) for opt in self.options}
        self._reports = reports

    def report(
        self,
        node: cst.CSTNode,
        message: str | None = None,
        *,
        fix: Autofix | None = None,
        **fmt: str,
    ) -> None:
        """Record a finding on `node`; `fmt` fills the placeholders of :attr:`message`.

        `fix` offers an automatic fix (see :class:`Autofix`); a rule that reports fixes
        declares :attr:`fix_applicability` and :attr:`fix_title`, which the fix inherits.
        """
        text = message if message is not None else self.message.format(**fmt)
        if fix is not None:
            title = fix.title or self.fix_title
            applicability = fix.applicability or self.fix_applicability
            if title is None or applicability is None:
                raise TypeError(f"{self.code} reports a fix without a title or applicability")
            fix = Autofix(
                *fix.changes, imports=fix.imports, title=title, applicability=applicability
            )
        self._reports.append(
            Report(type(self), node, text, self.context.statement, tuple(self.context.trail), fix)
        )

    @classmethod
    def documentation(cls) -> str:
        """The rule's Markdown documentation, from its docstring."""
        body = inspect.cleandoc(cls.__doc__ or "")
        return f"# {cls.code} {cls.name}\n\n{body}\n"

    @classmethod
    def doc_sections(cls) -> dict[str, str]:
        """The ``## Heading`` sections of the docstring, by heading."""
        body = inspect.cleandoc(cls.__doc__ or "")
        parts = re.split(r"^## (.+)$", body, flags=re.MULTILINE)
        return {parts[i].strip(): parts[i + 1].strip() for i in range(1, len(parts) - 1, 2)}

    @classmethod
    def summary(cls) -> str:
        """One sentence: the first sentence of "What it does"."""
        text = " ".join(cls.doc_sections().get("What it does", "").split())
        first, _, _ = text.partition(". ")
        return first.rstrip(".") + "." if first else ""

    @classmethod
    def help_uri(cls) -> str:
        return f"{DOCS_BASE_URL}{cls.code}.md"
