"""The rule base class: metadata, documentation, examples and reporting.

A rule is one module under ``asynclint/rules/``. Its class docstring is its documentation
(printed by ``asynclint rule CODE`` and written to ``docs/rules/``), its ``examples`` become
tests automatically, and its ``visit_<Node>``/``leave_<Node>`` methods are called by the
engine's single combined pass with :attr:`context` already describing where the node sits.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Mapping
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
    need several modules; `fixed` is the expected text after applying the rule's fixes.
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


@dataclass
class Report:
    """A finding still attached to its node; the engine turns it into a Diagnostic."""

    rule: type[Rule]
    node: cst.CSTNode
    message: str
    statement: cst.CSTNode | None
    """The simple statement holding `node`: a suppression comment on any of its lines counts."""


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
    options: ClassVar[tuple[Option, ...]] = ()
    examples: ClassVar[tuple[Example, ...]] = ()

    def __init__(self, context: Context, settings: Mapping[str, Any], reports: list[Report]):
        self.context = context
        self.settings = {opt.name: settings.get(opt.name, opt.default) for opt in self.options}
        self._reports = reports

    def report(self, node: cst.CSTNode, message: str | None = None, **fmt: str) -> None:
        """Record a finding on `node`; `fmt` fills the placeholders of :attr:`message`."""
        text = message if message is not None else self.message.format(**fmt)
        self._reports.append(Report(type(self), node, text, self.context.statement))

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
