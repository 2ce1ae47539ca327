"""What an expression refers to (qualified names) and what it evaluates to (types).

Local evidence only: imports and aliases, assignments in the same function, parameter
annotations, ``with ... as`` targets and ``self.x`` attributes assigned anywhere in the
class; plus what the project index says a called function or method returns (its return
annotation, ``return self``, an ``__enter__``/``__aenter__`` for ``with`` targets).
Anything else is unknown, and unknown makes rules stay silent.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

import libcst as cst

from asynclint.index import SELF, FunctionFact, ProjectIndex, absolute_import
from asynclint.knowledge.asyncio_api import (
    PYTEST_FIXTURE_TYPES,
    RETURN_TYPES,
    TASK_GROUP,
    TYPE_ALIASES,
)
from asynclint.knowledge.coroutines import ASYNC_CLASSES
from asynclint.scope import (
    Binding,
    BindingKind,
    Scope,
    ScopeKind,
    dotted_name,
    is_builtin,
    walk_small,
)

KNOWN_TYPES: dict[str, str] = {**TYPE_ALIASES, **ASYNC_CLASSES}
"""Every class name (as imported) whose instances rules know something about."""

_MAX_DEPTH = 8
_SELF_RETURNING_CMS = frozenset([TASK_GROUP])
"""Types whose ``__aenter__`` returns the object itself (``async with X() as x``)."""


class Resolver:
    """Answers name and type questions for one file; caches per-class attribute facts."""

    def __init__(
        self, module: str = "", is_package: bool = False, index: ProjectIndex | None = None
    ) -> None:
        self.module = module
        self.is_package = is_package
        self.index = index or ProjectIndex()
        self._class_attributes: dict[int, dict[str, list[tuple[cst.CSTNode, Scope]]]] = {}
        self._qualnames: dict[tuple[int, int], _Answer] = {}
        self._types: dict[tuple[int, int], _Answer] = {}

    def qualname(self, expr: cst.BaseExpression, scope: Scope) -> str | None:
        """``asyncio.create_task`` for ``aio.create_task``/``ct``/``spawn = ct``; else None.

        Remembered per expression and scope: rules ask about the same callee many times,
        and the scopes and the index do not change during a file's pass."""
        return _remembered(self._qualnames, self._qualname, expr, scope)

    def _qualname(self, expr: cst.BaseExpression, scope: Scope, depth: int) -> str | None:
        # Here and in `_infer`: exact types (LibCST's node classes are final), cheaper than
        # ``isinstance``, which goes through ABCMeta.
        if depth > _MAX_DEPTH:
            return None
        if type(expr) is cst.Attribute:
            base = self._qualname(expr.value, scope, depth + 1)
            return None if base is None else f"{base}.{expr.attr.value}"
        if type(expr) is not cst.Name:
            return None
        bindings = scope.lookup(expr.value)
        if bindings is None:
            return f"builtins.{expr.value}" if is_builtin(expr.value) else None
        names = {self._binding_qualname(binding, depth) for binding in bindings}
        return names.pop() if len(names) == 1 else None

    def _binding_qualname(self, binding: Binding, depth: int) -> str | None:
        if binding.kind is BindingKind.IMPORT and binding.qualname is not None:
            return self._absolute(binding.qualname)
        if (
            binding.kind in (BindingKind.DEF, BindingKind.CLASS)
            and binding.scope.kind is ScopeKind.MODULE
            and self.module
        ):
            return f"{self.module}.{binding.name}"
        if binding.kind is BindingKind.ASSIGN and isinstance(
            binding.value, (cst.Name, cst.Attribute)
        ):
            return self._qualname(binding.value, binding.scope, depth + 1)
        return None

    def _absolute(self, qualname: str) -> str:
        """``.store.Store`` imported in ``pkg.api`` → ``pkg.store.Store``."""
        target = qualname.lstrip(".")
        level = len(qualname) - len(target)
        return absolute_import(self.module, self.is_package, level, target) if level else target

    def known_type(self, qualname: str | None) -> str | None:
        """The canonical type a class name stands for: asyncio knowledge or a project class."""
        if qualname is None:
            return None
        known = KNOWN_TYPES.get(qualname)
        if known is not None:
            return known
        found = self.index.class_fact(qualname)
        return None if found is None else found[0]

    def infer(self, expr: cst.BaseExpression, scope: Scope) -> str | None:
        """The canonical type of `expr` when local evidence shows it, else None (remembered
        like :meth:`qualname`)."""
        return _remembered(self._types, self._infer, expr, scope)

    def _infer(self, expr: cst.BaseExpression, scope: Scope, depth: int) -> str | None:
        if depth > _MAX_DEPTH:
            return None
        if type(expr) is cst.Call:
            return self._call_type(expr, scope, depth, awaited=False)
        if type(expr) is cst.Await and type(expr.expression) is cst.Call:
            return self._call_type(expr.expression, scope, depth, awaited=True)
        if type(expr) is cst.Name:
            bindings = scope.lookup(expr.value)
            if bindings is None:
                return None
            return _agree(self._binding_type(binding, depth) for binding in bindings)
        if type(expr) is cst.Attribute:
            return self._attribute_type(expr, scope, depth)
        if type(expr) is cst.BooleanOperation and type(expr.operator) is cst.Or:
            # `loop or asyncio.get_running_loop()`: the known side decides, as long as no
            # operand is known to be something else.
            known = {self._infer(side, scope, depth + 1) for side in (expr.left, expr.right)}
            known.discard(None)
            return known.pop() if len(known) == 1 else None
        if type(expr) is cst.IfExp:
            return _agree(
                self._infer(side, scope, depth + 1)
                for side in (expr.body, expr.orelse)
                if not _is_none(side)
            )
        return None

    def annotation_type(self, annotation: cst.BaseExpression, scope: Scope) -> str | None:
        """The type an annotation names; ``Optional[T]`` and ``T | None`` count as T."""
        parsed = _unquoted(annotation)
        if parsed is None:
            return None
        members = list(_union_members(parsed, self, scope))
        return _agree(
            self.known_type(self.qualname(member, scope))
            for member in members
            if not _is_none(member)
        )

    def union_members(self, expr: cst.BaseExpression, scope: Scope) -> list[str] | None:
        """For a name annotated with a union of several classes (``A | B``, ``Union[A, B]``,
        ``None`` aside), every member's type; None unless each one is known."""
        bindings = scope.lookup(expr.value) if isinstance(expr, cst.Name) else None
        if not bindings or len(bindings) != 1 or bindings[0].annotation is None:
            return None
        annotation, where = _unquoted(bindings[0].annotation), bindings[0].scope
        if annotation is None:
            return None
        members = [m for m in _union_members(annotation, self, where) if not _is_none(m)]
        types = [self.known_type(self.qualname(member, where)) for member in members]
        return None if len(types) < 2 or None in types else [t for t in types if t is not None]

    def annotation_origin(self, annotation: cst.BaseExpression, scope: Scope) -> str | None:
        """The qualified name of the class an annotation names, or of its origin when it is
        subscripted (``Coroutine[None, None, int]`` → ``typing.Coroutine``)."""
        parsed = _unquoted(annotation)
        if isinstance(parsed, cst.Subscript):
            parsed = parsed.value
        return None if parsed is None else self.qualname(parsed, scope)

    def _binding_type(self, binding: Binding, depth: int) -> str | None:
        if binding.annotation is not None:
            declared = self.annotation_type(binding.annotation, binding.scope)
            if declared is not None or binding.kind is BindingKind.PARAM:
                return declared
        if binding.kind is BindingKind.ASSIGN and binding.value is not None:
            if _is_none(binding.value):
                return _NONE
            return self._infer(binding.value, binding.scope, depth + 1)
        if binding.kind is BindingKind.PARAM:
            return _fixture_type(binding)
        if binding.kind is BindingKind.WITH and binding.value is not None:
            managed = self._infer(binding.value, binding.scope, depth + 1)
            if managed is None or managed in _SELF_RETURNING_CMS:
                return managed
            awaited = isinstance(binding.node, cst.With) and binding.node.asynchronous is not None
            enter = self.index.method(managed, "__aenter__" if awaited else "__enter__")
            return self._returned(enter, managed, awaited)
        return None

    def _call_type(self, call: cst.Call, scope: Scope, depth: int, awaited: bool) -> str | None:
        """What a call (awaited or not) returns: a known factory's type, an instance of the
        class called, or the class a project function or method says it returns."""
        callee = self._qualname(call.func, scope, depth + 1)
        if callee is not None:
            known = None if awaited else RETURN_TYPES.get(callee) or self.known_type(callee)
            if known is not None:
                return known
            owner = self.known_type(callee.rpartition(".")[0])  # `Cls.create()` -> Self
            return self._returned(self.index.function(callee), owner, awaited)
        if isinstance(call.func, cst.Attribute):
            owner = self._receiver_type(call.func.value, scope, depth)
            if owner is not None:
                method = self.index.method(owner, call.func.attr.value)
                return self._returned(method, owner, awaited)
        return None

    def _receiver_type(self, expr: cst.BaseExpression, scope: Scope, depth: int) -> str | None:
        """The type of a method call's receiver, ``self`` included."""
        if isinstance(expr, cst.Name):
            class_scope = self.class_of_self(expr.value, scope)
            if class_scope is not None:
                return self.class_name(class_scope)
        return self._infer(expr, scope, depth + 1)

    def _returned(self, fact: FunctionFact | None, owner: str | None, awaited: bool) -> str | None:
        """The type `fact`'s call returns (its awaited result when `awaited`): the class its
        return annotation names, or `owner` for a method returning its receiver."""
        if fact is None or fact.opaque or fact.returns is None or fact.is_async != awaited:
            return None
        return owner if fact.returns == SELF else self.known_type(fact.returns)

    def _attribute_type(self, expr: cst.Attribute, scope: Scope, depth: int) -> str | None:
        """``self.x`` inside a method: the type of every value assigned to ``x``; for other
        receivers of a known project class, what the index says about the attribute."""
        class_scope = None
        if isinstance(expr.value, cst.Name):
            class_scope = self.class_of_self(expr.value.value, scope)
        if class_scope is None:
            owner = self._infer(expr.value, scope, depth + 1)
            return None if owner is None else self._indexed_attribute(owner, expr.attr.value)
        sources = self._attributes(class_scope).get(expr.attr.value)
        if not sources:
            return self._indexed_attribute(self.class_name(class_scope), expr.attr.value)
        results = []
        for node, where in sources:
            if isinstance(node, cst.Annotation):
                results.append(self.annotation_type(node.annotation, where))
            elif isinstance(node, cst.BaseExpression):
                results.append(_NONE if _is_none(node) else self._infer(node, where, depth + 1))
            else:
                results.append(None)
        return _agree(results)

    def _indexed_attribute(self, owner: str | None, attribute: str) -> str | None:
        if owner is None:
            return None
        return self.known_type(self.index.attribute_class(owner, attribute))

    def class_name(self, class_scope: Scope) -> str | None:
        """The dotted name of a module-level class, as the index knows it."""
        node = class_scope.node
        if not self.module or not isinstance(node, cst.ClassDef):
            return None
        if class_scope.parent is None or class_scope.parent.kind is not ScopeKind.MODULE:
            return None
        return f"{self.module}.{node.name.value}"

    def class_of_self(self, name: str, scope: Scope) -> Scope | None:
        """The class scope when `name` is the first parameter of a method of that class."""
        bindings = scope.lookup(name)
        if not bindings or len(bindings) != 1 or bindings[0].kind is not BindingKind.PARAM:
            return None
        method_scope = bindings[0].scope
        method = method_scope.function_node()
        parent = method_scope.parent
        if method is None or parent is None or parent.kind is not ScopeKind.CLASS:
            return None
        if any(_decorator_name(d) == "staticmethod" for d in method.decorators):
            return None
        positional = [*method.params.posonly_params, *method.params.params]
        if not positional or positional[0].name.value != name:
            return None
        return parent

    def _attributes(self, class_scope: Scope) -> dict[str, list[tuple[cst.CSTNode, Scope]]]:
        """Every value or annotation given to ``self.<attr>`` or a class attribute."""
        key = id(class_scope.node)
        cached = self._class_attributes.get(key)
        if cached is not None:
            return cached
        found: dict[str, list[tuple[cst.CSTNode, Scope]]] = {}
        for name, bindings in class_scope.bindings.items():
            for binding in bindings:
                if binding.annotation is not None:
                    found.setdefault(name, []).append((_annotated(binding), class_scope))
                elif binding.kind is BindingKind.ASSIGN and binding.value is not None:
                    found.setdefault(name, []).append((binding.value, class_scope))
        assert isinstance(class_scope.node, cst.ClassDef)
        for method in _methods(class_scope.node):
            positional = [*method.params.posonly_params, *method.params.params]
            if not positional:
                continue
            receiver = positional[0].name.value
            method_scope = Scope.build(ScopeKind.FUNCTION, method, class_scope)
            for small in walk_small(method.body):
                for attr, node in _self_assignments(small, receiver):
                    found.setdefault(attr, []).append((node, method_scope))
        self._class_attributes[key] = found
        return found


_NONE = "builtins.None"
_Answer = tuple[cst.BaseExpression, Scope, str | None]
"""A remembered answer, holding on to the expression and scope it is about: their ids
key it, and must not be reused by other objects while the file is checked."""


def _remembered(
    answers: dict[tuple[int, int], _Answer],
    work_out: Callable[[cst.BaseExpression, Scope, int], str | None],
    expr: cst.BaseExpression,
    scope: Scope,
) -> str | None:
    """The answer of `work_out` about `expr` in `scope`, worked out once per file."""
    key = (id(expr), id(scope))
    known = answers.get(key)
    if known is None:
        known = answers[key] = (expr, scope, work_out(expr, scope, 0))
    return known[2]


def _agree(results: Iterator[str | None] | Sequence[str | None]) -> str | None:
    """The single type all results share (None-valued ones aside), else None."""
    seen = set(results)
    seen.discard(_NONE)
    if len(seen) != 1:
        return None
    only = seen.pop()
    return only


def _unquoted(annotation: cst.BaseExpression) -> cst.BaseExpression | None:
    """A quoted annotation (``"Store"``) parsed; None when it does not parse."""
    if not isinstance(annotation, cst.SimpleString):
        return annotation
    try:
        return cst.parse_expression(annotation.evaluated_value)  # type: ignore[arg-type]
    except (cst.ParserSyntaxError, TypeError):
        return None


def _is_none(expr: cst.BaseExpression) -> bool:
    return type(expr) is cst.Name and expr.value == "None"


def _union_members(
    annotation: cst.BaseExpression, resolver: Resolver, scope: Scope
) -> Iterator[cst.BaseExpression]:
    if isinstance(annotation, cst.BinaryOperation) and isinstance(annotation.operator, cst.BitOr):
        yield from _union_members(annotation.left, resolver, scope)
        yield from _union_members(annotation.right, resolver, scope)
        return
    if isinstance(annotation, cst.Subscript):
        origin = resolver.qualname(annotation.value, scope) or ""
        if origin.rsplit(".", 1)[-1] in ("Optional", "Union"):
            for element in annotation.slice:
                if isinstance(element.slice, cst.Index):
                    yield from _union_members(element.slice.value, resolver, scope)
            return
    yield annotation


def _fixture_type(param: Binding) -> str | None:
    """An unannotated parameter of a pytest test or fixture is the fixture of that name."""
    function = param.scope.function_node()
    if function is None or param.name not in PYTEST_FIXTURE_TYPES:
        return None
    is_test = function.name.value.startswith("test")
    is_fixture = any(
        "fixture" in (dotted_name(_call_target(d.decorator)) or "") for d in function.decorators
    )
    return PYTEST_FIXTURE_TYPES[param.name] if is_test or is_fixture else None


def _call_target(expr: cst.BaseExpression) -> cst.BaseExpression:
    return expr.func if isinstance(expr, cst.Call) else expr


def _decorator_name(decorator: cst.Decorator) -> str | None:
    target = decorator.decorator
    return target.value if isinstance(target, cst.Name) else None


def _methods(node: cst.ClassDef) -> Iterator[cst.FunctionDef]:
    if isinstance(node.body, cst.IndentedBlock):
        for statement in node.body.body:
            if isinstance(statement, cst.FunctionDef):
                yield statement


def _annotated(binding: Binding) -> cst.CSTNode:
    assert binding.annotation is not None
    return cst.Annotation(binding.annotation)


def _self_assignments(
    small: cst.BaseSmallStatement, receiver: str
) -> Iterator[tuple[str, cst.CSTNode]]:
    """``self.x = value`` and ``self.x: T = value`` in a method whose first param is `receiver`."""

    def attr_of(target: cst.BaseExpression) -> str | None:
        if (
            isinstance(target, cst.Attribute)
            and isinstance(target.value, cst.Name)
            and target.value.value == receiver
        ):
            return target.attr.value
        return None

    if isinstance(small, cst.Assign):
        for target in small.targets:
            attr = attr_of(target.target)
            if attr is not None:
                yield attr, small.value
    elif isinstance(small, cst.AnnAssign):
        attr = attr_of(small.target)
        if attr is not None:
            yield attr, small.annotation
    elif isinstance(small, cst.AugAssign):
        attr = attr_of(small.target)
        if attr is not None:
            yield attr, small
