"""Lock-order facts: which asyncio locks a function acquires while it holds another.

ASL404 (lock-order-inversion) needs every nesting in the project before it checks any file,
so the index's ``ast`` first pass calls :func:`lock_pairs` once per module and keeps the
result (small, frozen, picklable data). A lock is named by where it lives: a module global
(``pkg.mod.LOCK``) or a class attribute (``pkg.mod.Service._lock``, shared by all instances
for the purpose of ordering). It only counts when its type is known to be an asyncio,
anyio or trio lock or condition: a constructor call or an annotation at module level, in
the class body or on ``self`` in a method. Nesting is lexical (``async with a:`` around
``async with b:``, ``async with a, b:``, ``await a.acquire()`` up to ``a.release()`` or
the end of its block) and follows awaited calls to ``async def``s of the same module
(``async with a: await self._debit()`` where ``_debit`` takes ``b``).
"""

from __future__ import annotations

import ast
import functools
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field

from asynclint import index  # a module import: the index imports this module too

LOCK_CLASSES = frozenset(
    [
        "asyncio.Lock",
        "asyncio.locks.Lock",
        "asyncio.Condition",
        "asyncio.locks.Condition",
        "anyio.Lock",
        "anyio.Condition",
        "trio.Lock",
        "trio.StrictFIFOLock",
        "trio.Condition",
    ]
)
"""Classes whose instances are mutual-exclusion locks acquired with ``async with``."""

_WAIT_FOR = frozenset(["asyncio.wait_for", "asyncio.tasks.wait_for"])
_MAX_CALL_DEPTH = 4
_MAX_BASES = 8

Function = ast.FunctionDef | ast.AsyncFunctionDef


@dataclass(frozen=True)
class LockRef:
    """A lock named by its owner (a module or a class, absolute) and its name there."""

    owner: str
    name: str
    attribute: bool
    """True for a class attribute, False for a module global."""
    verified: bool = True
    """False when the attribute belongs to a class whose declaration lives in another
    module (a base, an annotated receiver): the index has to confirm it is a lock."""


@dataclass(frozen=True)
class LockPair:
    """`inner` is acquired while `outer` is held, in `function` at `line`/`column`."""

    outer: LockRef
    inner: LockRef
    function: str
    """The function's qualified name inside its module (``Service.transfer``)."""
    line: int
    column: int
    """``ast`` offset (UTF-8 bytes) of the acquiring ``async with`` item or ``await``."""
    via: tuple[str, ...] = ()
    """The awaited functions through which `inner` is acquired, outermost first."""


def lock_pairs(tree: ast.Module, module: str, imports: Mapping[str, str]) -> list[LockPair]:
    """Every nested acquisition of known locks in `tree`, the module named `module` whose
    imports (local name → absolute dotted name) the index has already resolved."""
    if not any(map(_may_acquire, _statements(tree.body))):
        return []  # most modules: a walk over statements only, not expressions
    return _Module(tree, module, imports).pairs()


def _may_acquire(statement: ast.stmt) -> bool:
    """``async with <name or attribute>`` or ``await <x>.acquire()`` (maybe in a wait_for)."""
    if isinstance(statement, ast.AsyncWith):
        return any(isinstance(i.context_expr, (ast.Name, ast.Attribute)) for i in statement.items)
    if isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Await):
        call = statement.value.value
        if isinstance(call, ast.Call) and call.args and isinstance(call.args[0], ast.Call):
            call = call.args[0]
        return _method_receiver(call, "acquire") is not None
    return False


def _statements(body: list[ast.stmt], nested: bool = True) -> Iterator[ast.stmt]:
    """Every statement of `body`, through compound statements and, when `nested`, through
    the bodies of nested functions and classes."""
    for statement in body:
        yield statement
        if isinstance(statement, (Function, ast.ClassDef)):
            if nested:
                yield from _statements(statement.body)
        else:
            for suite in _suites(statement):
                yield from _statements(suite, nested)


def _own_statements(body: list[ast.stmt]) -> Iterator[ast.stmt]:
    """The statements of a function body, nested functions and classes not entered."""
    return _statements(body, nested=False)


class _Scope:
    """A function being walked: its qualified name and what its names refer to."""

    def __init__(
        self, qualname: str, node: Function, cls: str | None, receiver: str | None
    ) -> None:
        self.qualname = qualname
        self.node = node
        self.cls = cls
        """The class whose instance `receiver` is (a method, or a function nested in one)."""
        self._receiver = receiver
        self.is_method = qualname.count(".") == 1 and cls is not None

    @functools.cached_property
    def local_names(self) -> frozenset[str]:
        return _local_names(self.node)

    @property
    def receiver(self) -> str | None:
        """A closure sees the method's receiver unless it rebinds that name."""
        if self.is_method or self._receiver not in self.local_names:
            return self._receiver
        return None

    @functools.cached_property
    def annotations(self) -> dict[str, ast.expr]:
        args = self.node.args
        return {
            a.arg: a.annotation
            for a in [*args.posonlyargs, *args.args, *args.kwonlyargs]
            if a.annotation is not None
        }


@dataclass
class _Walk:
    """What one function does with locks."""

    acquisitions: list[tuple[LockRef, int, int]] = field(default_factory=list)
    pairs: list[LockPair] = field(default_factory=list)
    calls: list[tuple[str, tuple[LockRef, ...], int, int]] = field(default_factory=list)
    """Awaited calls to async functions of this module: (callee, held locks, line, column)."""


class _Module:
    def __init__(self, tree: ast.Module, module: str, imports: Mapping[str, str]) -> None:
        self.module = module
        self.imports = imports
        self.top = list(index.top_level(tree.body))
        self.classes = {n.name: n for n in self.top if isinstance(n, ast.ClassDef)}
        self.functions = {n.name: n for n in self.top if isinstance(n, Function)}
        self.scopes: dict[str, _Scope] = {}
        self.walks: dict[str, _Walk] = {}
        self._attributes: dict[str, dict[str, str]] = {}
        for node in self.top:
            if isinstance(node, Function):
                self._add_function(node, node.name, None, None)
            elif isinstance(node, ast.ClassDef):
                for method in node.body:
                    if isinstance(method, Function):
                        receiver = None if _is_static(method) else _first_param(method)
                        self._add_function(
                            method, f"{node.name}.{method.name}", node.name, receiver
                        )

    def pairs(self) -> list[LockPair]:
        found: list[LockPair] = []
        for name, scope in self.scopes.items():
            if not any(map(_may_acquire, _own_statements(scope.node.body))):
                continue  # holds no lock, so nests nothing
            walk = self._walk(name)
            found += walk.pairs
            for callee, held, line, column in walk.calls:
                if not held:
                    continue
                for ref, chain in self._reached(callee, frozenset([name]), 0):
                    found += [
                        LockPair(outer, ref, name, line, column, (callee, *chain))
                        for outer in held
                        if outer != ref
                    ]
        return list(dict.fromkeys(found))

    # -- functions ----------------------------------------------------------------------

    def _add_function(
        self, node: Function, qualname: str, cls: str | None, receiver: str | None
    ) -> None:
        self.scopes[qualname] = _Scope(qualname, node, cls, receiver)
        for nested in _own_statements(node.body):
            if isinstance(nested, Function):
                self._add_function(nested, f"{qualname}.<locals>.{nested.name}", cls, receiver)

    def _walk(self, name: str) -> _Walk:
        walk = self.walks.get(name)
        if walk is None:
            walk = self.walks[name] = _Walk()
            self._suite(self.scopes[name].node.body, [], self.scopes[name], walk)
        return walk

    def _suite(
        self, body: Sequence[ast.stmt], held: list[LockRef], scope: _Scope, walk: _Walk
    ) -> None:
        held = list(held)
        for statement in body:
            self._awaited_calls(statement, held, scope, walk)
            if isinstance(statement, ast.AsyncWith):
                inner = list(held)
                for item in statement.items:
                    ref = self._lock(item.context_expr, scope)
                    if ref is not None:
                        self._acquire(ref, item.context_expr, inner, scope, walk)
                        inner.append(ref)
                self._suite(statement.body, inner, scope, walk)
                continue
            acquired = self._acquire_statement(statement, scope)
            if acquired is not None:
                ref, node = acquired
                self._acquire(ref, node, held, scope, walk)
                held.append(ref)
                continue
            released = self._release_statement(statement, scope)
            if released is not None and released in held:
                held.remove(released)
            for suite in _suites(statement):
                self._suite(suite, held, scope, walk)
            for final in getattr(statement, "finalbody", []):  # try ... finally: x.release()
                done = self._release_statement(final, scope)
                if done is not None and done in held:
                    held.remove(done)

    def _acquire(
        self, ref: LockRef, node: ast.expr, held: list[LockRef], scope: _Scope, walk: _Walk
    ) -> None:
        walk.acquisitions.append((ref, node.lineno, node.col_offset))
        walk.pairs += [
            LockPair(outer, ref, scope.qualname, node.lineno, node.col_offset)
            for outer in held
            if outer != ref
        ]

    def _acquire_statement(
        self, statement: ast.stmt, scope: _Scope
    ) -> tuple[LockRef, ast.Await] | None:
        """``await lock.acquire()`` or ``await asyncio.wait_for(lock.acquire(), t)``."""
        if not (isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Await)):
            return None
        call = statement.value.value
        if isinstance(call, ast.Call) and self.qualify(call.func) in _WAIT_FOR and call.args:
            call = call.args[0]
        receiver = _method_receiver(call, "acquire")
        ref = None if receiver is None else self._lock(receiver, scope)
        return None if ref is None else (ref, statement.value)

    def _release_statement(self, statement: ast.stmt, scope: _Scope) -> LockRef | None:
        if not isinstance(statement, ast.Expr):
            return None
        receiver = _method_receiver(statement.value, "release")
        return None if receiver is None else self._lock(receiver, scope)

    def _awaited_calls(
        self, statement: ast.stmt, held: list[LockRef], scope: _Scope, walk: _Walk
    ) -> None:
        for node in _header_nodes(statement):
            if isinstance(node, ast.Await) and isinstance(node.value, ast.Call):
                callee = self._callee(node.value.func, scope)
                if callee is not None:
                    walk.calls.append((callee, tuple(held), node.lineno, node.col_offset))

    def _callee(self, func: ast.expr, scope: _Scope) -> str | None:
        """The qualified name of an ``async def`` of this module that `func` names."""
        if isinstance(func, ast.Name):
            if func.id in scope.local_names:
                return None
            target = self.functions.get(func.id)
            return func.id if isinstance(target, ast.AsyncFunctionDef) else None
        if (
            isinstance(func, ast.Attribute)
            and isinstance(func.value, ast.Name)
            and scope.cls is not None
            and func.value.id == scope.receiver
        ):
            return self._method(scope.cls, func.attr, 0)
        return None

    def _method(self, cls: str, name: str, depth: int) -> str | None:
        node = self.classes.get(cls)
        if node is None or depth > _MAX_BASES:
            return None
        for statement in node.body:
            if isinstance(statement, Function) and statement.name == name:
                is_async = isinstance(statement, ast.AsyncFunctionDef)
                return f"{cls}.{name}" if is_async else None
        for base in node.bases:
            local = self._local_class(self.qualify(base))
            if local is not None:
                found = self._method(local, name, depth + 1)
                if found is not None:
                    return found
        return None

    def _reached(
        self, function: str, seen: frozenset[str], depth: int
    ) -> Iterator[tuple[LockRef, tuple[str, ...]]]:
        """The locks `function` acquires, directly or through the functions it awaits,
        each with the chain of functions below `function` that gets there."""
        if function not in self.scopes or function in seen or depth > _MAX_CALL_DEPTH:
            return
        walk = self._walk(function)
        reported: set[LockRef] = set()
        for ref, _, _ in walk.acquisitions:
            if ref not in reported:
                reported.add(ref)
                yield ref, ()
        for callee, _, _, _ in walk.calls:
            for ref, chain in self._reached(callee, seen | {function}, depth + 1):
                if ref not in reported:
                    reported.add(ref)
                    yield ref, (callee, *chain)

    # -- what is a lock -----------------------------------------------------------------

    def _lock(self, expr: ast.expr, scope: _Scope) -> LockRef | None:
        if isinstance(expr, ast.Name):
            if expr.id in scope.local_names or expr.id not in self._global_locks:
                return None
            return LockRef(self.module, expr.id, attribute=False)
        if isinstance(expr, ast.Attribute):
            owner = self._receiver_class(expr.value, scope, 0)
            return None if owner is None else self._attribute_lock(owner, expr.attr)
        return None

    def _receiver_class(self, expr: ast.expr, scope: _Scope, depth: int) -> str | None:
        """The absolute class name of `expr`: ``self``, an annotated parameter, or an
        attribute of a class of this module with a known class."""
        if isinstance(expr, ast.Name):
            if scope.cls is not None and expr.id == scope.receiver:
                return f"{self.module}.{scope.cls}"
            annotation = scope.annotations.get(expr.id)
            return None if annotation is None else self._annotation(annotation)
        if isinstance(expr, ast.Attribute) and depth < _MAX_BASES:
            owner = self._receiver_class(expr.value, scope, depth + 1)
            local = self._local_class(owner)
            if local is not None:
                found = self._declared(local, expr.attr, 0)
                if found is not None and found[1] not in LOCK_CLASSES:
                    return found[1]
        return None

    def _attribute_lock(self, owner: str, attribute: str) -> LockRef | None:
        local = self._local_class(owner)
        if local is None:
            return LockRef(owner, attribute, attribute=True, verified=False)
        found = self._declared(local, attribute, 0)
        if found is None:
            if self._has_foreign_base(local, 0):
                return LockRef(owner, attribute, attribute=True, verified=False)
            return None
        declaring, kind = found
        if kind not in LOCK_CLASSES:
            return None
        return LockRef(f"{self.module}.{declaring}", attribute, attribute=True)

    def _declared(self, cls: str, attribute: str, depth: int) -> tuple[str, str] | None:
        """(declaring class, attribute's class) through the class and its local bases."""
        node = self.classes[cls]
        kind = self._class_attributes(cls).get(attribute)
        if kind is not None:
            return cls, kind
        if depth > _MAX_BASES:
            return None
        for base in node.bases:
            local = self._local_class(self.qualify(base))
            found = None if local is None else self._declared(local, attribute, depth + 1)
            if found is not None:
                return found
        return None

    def _has_foreign_base(self, cls: str, depth: int) -> bool:
        """A base outside this module that could declare attributes."""
        for base in self.classes[cls].bases:
            qualified = self.qualify(base)
            local = self._local_class(qualified)
            if local is None and qualified is not None:
                return True
            if (
                local is not None
                and depth < _MAX_BASES
                and self._has_foreign_base(local, depth + 1)
            ):
                return True
        return False

    def _local_class(self, qualified: str | None) -> str | None:
        prefix = f"{self.module}."
        if qualified is None or not qualified.startswith(prefix):
            return None
        name = qualified[len(prefix) :]
        return name if name in self.classes else None

    @functools.cached_property
    def _global_locks(self) -> frozenset[str]:
        """Module globals only ever given a lock (or None), at module level or through
        ``global`` in a function."""
        kinds = _Kinds()
        for statement in self.top:
            for target, value, annotation in _assignments(statement):
                if isinstance(target, ast.Name):
                    kinds.add(target.id, self._value(value), self._annotation(annotation))
        for scope in self.scopes.values():
            own = list(_own_statements(scope.node.body))
            declared = {name for node in own if isinstance(node, ast.Global) for name in node.names}
            for node in own if declared else ():
                for target, value, annotation in _assignments(node):
                    if isinstance(target, ast.Name) and target.id in declared:
                        kinds.add(target.id, self._value(value), self._annotation(annotation))
        return frozenset(name for name, kind in kinds.known().items() if kind in LOCK_CLASSES)

    def _class_attributes(self, cls: str) -> dict[str, str]:
        """Attribute → absolute class name, from the class body and ``self.x`` in methods;
        an attribute given values of different or unknown classes is left out."""
        cached = self._attributes.get(cls)
        if cached is not None:
            return cached
        kinds = _Kinds()
        for statement in self.classes[cls].body:
            for target, value, annotation in _assignments(statement):
                if isinstance(target, ast.Name):
                    kinds.add(target.id, self._value(value), self._annotation(annotation))
            if isinstance(statement, Function) and not _is_static(statement):
                receiver = _first_param(statement)
                for node in ast.walk(statement):
                    for target, value, annotation in _assignments(node):
                        if (
                            isinstance(target, ast.Attribute)
                            and isinstance(target.value, ast.Name)
                            and target.value.id == receiver
                        ):
                            kinds.add(target.attr, self._value(value), self._annotation(annotation))
        found = self._attributes[cls] = kinds.known()
        return found

    def _value(self, value: ast.expr | None) -> str | None:
        """The class a value is an instance of (``None`` literal → ``_NONE``), else None."""
        if value is None:
            return None
        if isinstance(value, ast.Constant) and value.value is None:
            return _NONE
        if isinstance(value, ast.BoolOp) and isinstance(value.op, ast.Or):
            value = value.values[-1]  # `lock or asyncio.Lock()`
        if isinstance(value, ast.Call):
            return self.qualify(value.func)
        return None

    def _annotation(self, annotation: ast.expr | None) -> str | None:
        if annotation is not None:
            annotation = index.plain_annotation(annotation)
        if annotation is None:
            return None
        if isinstance(annotation, ast.Subscript):
            origin = self.qualify(annotation.value) or ""
            if origin in ("typing.Optional", "typing_extensions.Optional"):
                return self._annotation(annotation.slice)
            return None
        return self.qualify(annotation)

    def qualify(self, expr: ast.expr) -> str | None:
        """A name as written → absolute, through this module's imports and definitions;
        None when the first name is not bound at module level."""
        dotted = index.dotted(expr)
        if dotted is None:
            return None
        return index.qualify_bound(dotted, self.module, self.imports, self.classes, self.functions)


_NONE = "builtins.None"


class _Kinds:
    """The classes each name is given; a name counts only when they agree."""

    def __init__(self) -> None:
        self.values: dict[str, set[str | None]] = {}
        self.annotated: dict[str, str | None] = {}

    def add(self, name: str, value: str | None, annotation: str | None) -> None:
        if annotation is not None:
            self.annotated[name] = annotation
        else:
            self.values.setdefault(name, set()).add(value)

    def known(self) -> dict[str, str]:
        result = {k: v for k, v in self.annotated.items() if v is not None}
        for name, values in self.values.items():
            kinds = values - {_NONE}
            if name not in result and len(kinds) == 1 and None not in kinds:
                [result[name]] = kinds  # type: ignore[assignment]
        return result


def _assignments(
    node: ast.AST,
) -> Iterator[tuple[ast.expr, ast.expr | None, ast.expr | None]]:
    """(target, value, annotation) for each target `node` assigns; a target inside a tuple
    or given by an augmented assignment gets an unknown value."""
    if isinstance(node, ast.Assign):
        for target in node.targets:
            if isinstance(target, (ast.Tuple, ast.List)):
                for element in target.elts:
                    yield element, None, None
            else:
                yield target, node.value, None
    elif isinstance(node, ast.AnnAssign):
        yield node.target, node.value, node.annotation
    elif isinstance(node, ast.AugAssign):
        yield node.target, None, None


def _method_receiver(expr: ast.expr, method: str) -> ast.expr | None:
    """`x` in ``x.method()`` called without arguments."""
    if (
        isinstance(expr, ast.Call)
        and isinstance(expr.func, ast.Attribute)
        and expr.func.attr == method
        and not expr.args
        and not expr.keywords
    ):
        return expr.func.value
    return None


def _suites(statement: ast.stmt) -> Iterator[list[ast.stmt]]:
    """The nested statement lists of a compound statement (not of nested scopes)."""
    if isinstance(statement, (Function, ast.ClassDef)):
        return
    for name in ("body", "orelse", "finalbody"):
        value = getattr(statement, name, None)
        if isinstance(value, list) and value and isinstance(value[0], ast.stmt):
            yield value
    for handler in getattr(statement, "handlers", []):
        yield handler.body
    for case in getattr(statement, "cases", []):
        yield case.body


def _header_nodes(statement: ast.stmt) -> Iterator[ast.AST]:
    """The expression nodes a statement evaluates itself (its nested suites aside),
    without entering lambdas or nested scopes."""
    if isinstance(statement, (Function, ast.ClassDef)):
        return
    if isinstance(statement, (ast.If, ast.While)):
        roots: list[ast.AST] = [statement.test]
    elif isinstance(statement, (ast.For, ast.AsyncFor)):
        roots = [statement.iter]
    elif isinstance(statement, (ast.With, ast.AsyncWith)):
        roots = [item.context_expr for item in statement.items]
    elif isinstance(statement, ast.Match):
        roots = [statement.subject]
    elif any(True for _ in _suites(statement)):
        roots = []
    else:
        roots = [statement]
    stack = roots
    while stack:
        node = stack.pop()
        yield node
        stack += [c for c in ast.iter_child_nodes(node) if not isinstance(c, ast.Lambda)]


def _own_nodes(body: list[ast.stmt]) -> Iterator[ast.AST]:
    """Every node of a function body; nested functions are yielded but not entered."""
    stack: list[ast.AST] = list(body)
    while stack:
        node = stack.pop()
        yield node
        if not isinstance(node, (Function, ast.Lambda, ast.ClassDef)):
            stack += ast.iter_child_nodes(node)


def _local_names(function: Function) -> frozenset[str]:
    """Parameters and names assigned in the function (``global``/``nonlocal`` aside)."""
    args = function.args
    names = {a.arg for a in [*args.posonlyargs, *args.args, *args.kwonlyargs]}
    names.update(a.arg for a in (args.vararg, args.kwarg) if a is not None)
    declared: set[str] = set()
    for node in _own_nodes(function.body):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, (Function, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Global, ast.Nonlocal)):
            declared.update(node.names)
        elif isinstance(node, ast.alias):
            names.add(node.asname or node.name.split(".")[0])
    return frozenset(names - declared)


def _first_param(function: Function) -> str | None:
    params = [*function.args.posonlyargs, *function.args.args]
    return params[0].arg if params else None


def _is_static(function: Function) -> bool:
    return any(index.dotted(d) == "staticmethod" for d in function.decorator_list)
