"""Name bindings per scope, and what a name or attribute chain refers to.

LibCST's ``ScopeProvider`` costs about six times the parse on real code, and rules only
ask about a handful of names per file. So each scope is summarised lazily, when the
traversal enters it, by walking its *statements* only (not expressions): imports,
assignments, parameters, ``def``/``class``, ``for``/``with``/``except`` targets, and
``global``/``nonlocal`` declarations. Lookups then follow Python's LEGB rule, skipping
class scopes for code nested in methods, exactly as the interpreter does.
"""

from __future__ import annotations

import builtins
import contextlib
import enum
import threading
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field

import libcst as cst

_BUILTINS = frozenset(dir(builtins))


class BindingKind(enum.Enum):
    IMPORT = "import"
    DEF = "def"
    CLASS = "class"
    ASSIGN = "assign"
    PARAM = "param"
    WITH = "with"
    OTHER = "other"
    """Bound in a way that says nothing about the value (loop target, unpacking, except)."""


class ScopeKind(enum.Enum):
    MODULE = "module"
    CLASS = "class"
    FUNCTION = "function"
    LAMBDA = "lambda"
    COMPREHENSION = "comprehension"


@dataclass(frozen=True)
class Binding:
    """One place where a name gets a value, with what is known about that value."""

    name: str
    kind: BindingKind
    scope: Scope
    node: cst.CSTNode
    value: cst.BaseExpression | None = None
    """The assigned value; for ``with`` targets, the context-manager expression."""
    annotation: cst.BaseExpression | None = None
    qualname: str | None = None
    """For imports: the dotted name imported (``asyncio.create_task``)."""


@dataclass(eq=False)
class Scope:
    kind: ScopeKind
    node: cst.CSTNode
    parent: Scope | None
    bindings: dict[str, list[Binding]] = field(default_factory=dict)
    global_names: set[str] = field(default_factory=set)
    nonlocal_names: set[str] = field(default_factory=set)

    @classmethod
    def build(cls, kind: ScopeKind, node: cst.CSTNode, parent: Scope | None) -> Scope:
        scope = cls(kind, node, parent)
        _Collector(scope).collect(node)
        if _ARENA.scopes is not None:
            _ARENA.scopes.append(scope)
        return scope

    def add(self, binding: Binding) -> None:
        self.bindings.setdefault(binding.name, []).append(binding)

    @property
    def module(self) -> Scope:
        scope = self
        while scope.parent is not None:
            scope = scope.parent
        return scope

    def lookup(self, name: str) -> Sequence[Binding] | None:
        """The bindings `name` refers to from this scope, or None for a builtin/unknown."""
        if name in self.global_names:
            return self.module.bindings.get(name)
        scope: Scope | None = self
        first = True
        while scope is not None:
            if (first or scope.kind is not ScopeKind.CLASS) and name in scope.bindings:
                return scope.bindings[name]
            first = False
            scope = scope.parent
        return None

    def function_node(self) -> cst.FunctionDef | None:
        return self.node if isinstance(self.node, cst.FunctionDef) else None


class _Arena(threading.local):
    scopes: list[Scope] | None = None
    """The scopes built since the innermost :func:`emptied_after` began, on this thread."""


_ARENA = _Arena()


@contextlib.contextmanager
def emptied_after() -> Iterator[None]:
    """Scopes built inside lose their bindings when it ends.

    A scope and its bindings refer to each other, and the bindings to nodes: left alone,
    every scope of a file's pass is a cycle holding the file's tree, which only the
    garbage collector can free, by walking all of the tree. Emptied, the tree goes as soon
    as the pass drops it."""
    outer, _ARENA.scopes = _ARENA.scopes, []
    built = _ARENA.scopes
    try:
        yield
    finally:
        _ARENA.scopes = outer
        for scope in built:
            scope.bindings.clear()


def dotted_name(expr: cst.BaseExpression) -> str | None:
    """``a.b.c`` for a Name/Attribute chain, None for anything else."""
    parts: list[str] = []
    while isinstance(expr, cst.Attribute):
        parts.append(expr.attr.value)
        expr = expr.value
    if not isinstance(expr, cst.Name):
        return None
    parts.append(expr.value)
    return ".".join(reversed(parts))


def _module_name(node: cst.ImportFrom) -> str:
    dots = "." * len(node.relative)
    module = dotted_name(node.module) if node.module is not None else ""
    return dots + (module or "")


def _target_names(target: cst.BaseExpression) -> Iterator[cst.Name]:
    """Names bound by an assignment target (tuples and starred unpacked)."""
    if isinstance(target, cst.Name):
        yield target
    elif isinstance(target, (cst.Tuple, cst.List)):
        for element in target.elements:
            yield from _target_names(element.value)
    elif isinstance(target, cst.StarredElement):
        yield from _target_names(target.value)


class _Collector:
    """Fills a scope from the statements of its body, without entering nested scopes."""

    def __init__(self, scope: Scope) -> None:
        self.scope = scope

    def collect(self, node: cst.CSTNode) -> None:
        if isinstance(node, cst.Module):
            self.statements(node.body)
        elif isinstance(node, cst.ClassDef):
            self.suite(node.body)
        elif isinstance(node, (cst.FunctionDef, cst.Lambda)):
            self.parameters(node.params)
            if isinstance(node, cst.FunctionDef):
                self.suite(node.body)
        elif isinstance(node, (cst.ListComp, cst.SetComp, cst.DictComp, cst.GeneratorExp)):
            comp: cst.CompFor | None = node.for_in
            while comp is not None:
                self.targets(comp.target, comp)
                comp = comp.inner_for_in

    def bind(self, name: str, kind: BindingKind, node: cst.CSTNode, **extra: object) -> None:
        self.scope.add(Binding(name, kind, self.scope, node, **extra))  # type: ignore[arg-type]

    def targets(self, target: cst.BaseExpression, node: cst.CSTNode) -> None:
        for name in _target_names(target):
            self.bind(name.value, BindingKind.OTHER, node)

    def parameters(self, params: cst.Parameters) -> None:
        everything: Iterable[cst.Param] = [
            *params.posonly_params,
            *params.params,
            *params.kwonly_params,
        ]
        for param in everything:
            annotation = param.annotation.annotation if param.annotation else None
            self.bind(param.name.value, BindingKind.PARAM, param, annotation=annotation)
        for star in (params.star_arg, params.star_kwarg):
            if isinstance(star, cst.Param):
                self.bind(star.name.value, BindingKind.OTHER, star)

    def suite(self, body: cst.BaseSuite) -> None:
        if isinstance(body, cst.IndentedBlock):
            self.statements(body.body)
        elif isinstance(body, cst.SimpleStatementSuite):
            self.small_statements(body.body)

    def statements(self, body: Sequence[cst.BaseStatement]) -> None:
        for statement in body:
            if type(statement) is cst.SimpleStatementLine:
                self.small_statements(statement.body)
            else:
                self.compound(statement)

    def compound(self, node: cst.BaseStatement) -> None:
        if isinstance(node, cst.FunctionDef):
            self.bind(node.name.value, BindingKind.DEF, node)
            return
        if isinstance(node, cst.ClassDef):
            self.bind(node.name.value, BindingKind.CLASS, node)
            return
        if isinstance(node, cst.For):
            self.targets(node.target, node)
        elif isinstance(node, cst.With):
            for item in node.items:
                if item.asname is not None:
                    target = item.asname.name
                    if isinstance(target, cst.Name):
                        self.bind(target.value, BindingKind.WITH, node, value=item.item)
                    else:
                        self.targets(target, node)
        for part in _parts(node):
            if isinstance(part, cst.BaseSuite):
                self.suite(part)
            elif isinstance(part, (cst.ExceptHandler, cst.ExceptStarHandler)):
                if part.name is not None and isinstance(part.name.name, cst.Name):
                    self.bind(part.name.name.value, BindingKind.OTHER, part)
                self.suite(part.body)
            elif isinstance(part, cst.If):
                self.compound(part)

    def small_statements(self, body: Sequence[cst.BaseSmallStatement]) -> None:
        # Exact types (LibCST's node classes are final): ``isinstance`` goes through
        # ABCMeta for every class tried, and most statements are none of these.
        for small in body:
            if type(small) is cst.Assign:
                for target in small.targets:
                    if type(target.target) is cst.Name:
                        self.bind(target.target.value, BindingKind.ASSIGN, small, value=small.value)
                    else:
                        self.targets(target.target, small)
            elif type(small) is cst.AnnAssign and type(small.target) is cst.Name:
                self.bind(
                    small.target.value,
                    BindingKind.ASSIGN,
                    small,
                    value=small.value,
                    annotation=small.annotation.annotation,
                )
            elif type(small) is cst.AugAssign and type(small.target) is cst.Name:
                self.bind(small.target.value, BindingKind.OTHER, small)
            elif type(small) is cst.Import:
                self.imports(small)
            elif type(small) is cst.ImportFrom:
                self.imports_from(small)
            elif type(small) is cst.Global:
                self.scope.global_names.update(item.name.value for item in small.names)
            elif type(small) is cst.Nonlocal:
                self.scope.nonlocal_names.update(item.name.value for item in small.names)

    def imports(self, node: cst.Import) -> None:
        for alias in node.names:
            full = dotted_name(alias.name) or ""
            if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
                self.bind(alias.asname.name.value, BindingKind.IMPORT, node, qualname=full)
            else:
                top = full.split(".")[0]
                self.bind(top, BindingKind.IMPORT, node, qualname=top)

    def imports_from(self, node: cst.ImportFrom) -> None:
        if isinstance(node.names, cst.ImportStar):
            return
        module = _module_name(node)
        separator = "" if module.endswith(".") else "."
        for alias in node.names:
            name = dotted_name(alias.name) or ""
            local = name
            if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
                local = alias.asname.name.value
            self.bind(local, BindingKind.IMPORT, node, qualname=f"{module}{separator}{name}")


def _parts(node: cst.BaseStatement) -> Iterator[cst.CSTNode]:
    """The suites, handlers and ``elif`` branches of a compound statement, in order."""
    if isinstance(node, (cst.If, cst.For, cst.While, cst.With, cst.Try, cst.TryStar)):
        yield node.body
    if isinstance(node, (cst.Try, cst.TryStar)):
        yield from node.handlers
    orelse = getattr(node, "orelse", None)
    if isinstance(orelse, cst.If):
        yield orelse
    elif isinstance(orelse, cst.Else):
        yield orelse.body
    finalbody = getattr(node, "finalbody", None)
    if isinstance(finalbody, cst.Finally):
        yield finalbody.body
    if isinstance(node, cst.Match):
        for case in node.cases:
            yield case.body


class OwnScopeOnly:
    """Mixin for visitors and transformers that read one function body: they do not enter
    nested functions, lambdas or classes, whose code runs elsewhere."""

    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        return False

    def visit_Lambda(self, node: cst.Lambda) -> bool:
        return False

    def visit_ClassDef(self, node: cst.ClassDef) -> bool:
        return False


def walk_small(body: cst.BaseSuite) -> Iterator[cst.BaseSmallStatement]:
    """Every simple statement of a suite, through compound statements but not nested scopes."""
    if isinstance(body, cst.SimpleStatementSuite):
        yield from body.body
        return
    assert isinstance(body, cst.IndentedBlock)
    for statement in body.body:
        if isinstance(statement, cst.SimpleStatementLine):
            yield from statement.body
        elif not isinstance(statement, (cst.FunctionDef, cst.ClassDef)):
            yield from _walk_compound(statement)


def _walk_compound(statement: cst.BaseStatement) -> Iterator[cst.BaseSmallStatement]:
    for part in _parts(statement):
        if isinstance(part, cst.BaseSuite):
            yield from walk_small(part)
        elif isinstance(part, (cst.ExceptHandler, cst.ExceptStarHandler)):
            yield from walk_small(part.body)
        elif isinstance(part, cst.If):
            yield from _walk_compound(part)


def is_builtin(name: str) -> bool:
    return name in _BUILTINS
