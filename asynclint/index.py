"""The project index: which functions and methods of the project are coroutine functions.

Built before the rules run by a fast first pass with :mod:`ast` over every file in scope
(about a tenth of a LibCST parse), it records per module the ``async def``s, classes with
their bases, methods and attribute types, and the module's imports (so re-exports through
``__init__.py`` and relative imports resolve). Facts are small, picklable data: workers
compute one module's facts each, the parent merges them, and the checking workers receive
the merged index once.
"""

from __future__ import annotations

import ast
import bisect
import dataclasses
import os
import sys
import zlib
from collections.abc import Callable, Container, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Protocol, TypeVar, cast

from asynclint import collector, lockorder
from asynclint import source as sources
from asynclint.knowledge import inert
from asynclint.knowledge.asyncio_api import (
    ENSURE_FUTURE,
    LOOP,
    LOOP_TASK_METHODS,
    RETURN_TYPES,
    TASK_FACTORIES,
)
from asynclint.knowledge.configured import NOTHING, Configured
from asynclint.knowledge.coroutines import (
    COROUTINE_TYPES,
    SELF_TYPES,
    TRANSPARENT_DECORATORS,
    Effect,
)
from asynclint.syntax import BODIES, has_async, statements

_BUILTIN_DECORATORS = frozenset(["staticmethod", "classmethod", "property"])
_MAX_HOPS = 12
SELF = inert("typing.Self")
"""`FunctionFact.returns` of a method returning its receiver (``-> Self``, ``return self``)."""

_T = TypeVar("_T")


@dataclass(frozen=True)
class FunctionFact:
    is_async: bool
    """Calling it returns a coroutine: an ``async def`` that is not an async generator."""
    decorators: tuple[str, ...] = ()
    """Qualified names of its decorators, outermost first, except the known transparent
    ones, with ``()`` appended where the decorator is called (``@retry(3)`` → ``pkg.retry()``);
    ``?`` where a decorator is not a dotted name (``@registry["x"]``)."""
    returns_task: bool = False
    """Every ``return`` hands back a task it just created (``return asyncio.create_task(...)``):
    dropping the call's result drops the only reference to that task (ASL102)."""
    returns: str | None = None
    """The class a call returns, from the return annotation (``Optional`` stripped, a generic
    as its origin: ``typing.Coroutine``), or :data:`SELF` for a method returning its receiver."""
    as_decorator: Effect | None = None
    """What ``@this`` does to the calls of the function it decorates; None when not evident."""
    as_factory: Effect | None = None
    """What ``@this(...)`` (the decorator this function returns) does; None when not evident."""

    @property
    def opaque(self) -> bool:
        """Decorated by something that may change what a call returns."""
        return bool(self.decorators)

    @property
    def makes_coroutine(self) -> bool:
        """Undecorated, calling it returns a coroutine: an ``async def``, or a ``def``
        annotated ``-> Coroutine[...]``/``-> Awaitable[...]``."""
        return self.is_async or self.returns in COROUTINE_TYPES


@dataclass
class ClassFact:
    bases: tuple[str, ...] = ()
    """Base classes as written, resolved against the module's imports where possible."""
    methods: dict[str, FunctionFact] = field(default_factory=dict)
    attributes: dict[str, str] = field(default_factory=dict)
    """``self.x = Cls(...)`` or ``x: Cls`` → the dotted class name as written in the module."""


@dataclass
class ModuleFacts:
    name: str
    path: str = ""
    in_project: bool = True
    """False for installed packages and the standard library (read lazily)."""
    functions: dict[str, FunctionFact] = field(default_factory=dict)
    classes: dict[str, ClassFact] = field(default_factory=dict)
    imports: dict[str, str] = field(default_factory=dict)
    """Local name → absolute dotted target (``Store`` → ``pkg.store.Store``)."""
    lock_pairs: list[lockorder.LockPair] = field(default_factory=list)
    """Locks acquired while another is held (ASL404), from :func:`lockorder.lock_pairs`."""


def module_name(path: str) -> str:
    """The dotted module name, found by walking up through packages (``__init__.py``), so
    ``src/`` layouts and nested projects need no configuration."""
    absolute = os.path.abspath(path)
    directory, file = os.path.split(absolute)
    stem = os.path.splitext(file)[0]
    parts = [] if stem == "__init__" else [stem]
    while os.path.isfile(os.path.join(directory, "__init__.py")):
        directory, package = os.path.split(directory)
        parts.append(package)
    return ".".join(reversed(parts)) or stem


def absolute_import(module: str, is_package: bool, relative: int, target: str) -> str:
    """``from ..x import y`` in `module` → the absolute dotted name."""
    if relative == 0:
        return target
    base = module.split(".") if is_package else module.split(".")[:-1]
    base = base[: len(base) - (relative - 1)] if relative > 1 else base
    return ".".join([*base, target] if target else base)


def facts_for(
    path: str, source: str | bytes | None = None, name: str | None = None, locks: bool = True
) -> ModuleFacts | None:
    """One module's facts; None when it cannot be read or parsed (rules then know less).
    Without `locks`, no lock pairs: only the modules in scope feed ASL404."""
    data: str | bytes
    try:
        if source is None:
            with open(path, "rb") as file:
                data = file.read()
        else:
            data = source
        text = _decoded(data) if isinstance(data, bytes) else data
        tree = ast.parse(data if text is None else text)
    except (OSError, SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    return facts_of(tree, path, name or module_name(path), locks, text)


def _decoded(data: bytes) -> str | None:
    """The text of a module's bytes, decoded as CPython decodes them; None when it cannot
    be (CPython's parser then says why, or parses what the checks will report)."""
    decoded = sources.decode(data)
    return decoded.text if isinstance(decoded, sources.Source) else None


def facts_of(
    tree: ast.Module, path: str, name: str, locks: bool = True, source: str | None = None
) -> ModuleFacts:
    """The facts of the module `name` at `path`, whose syntax tree is `tree` (parsed from
    `source`, when given: only the statements on lines that spell ``yield`` are then searched
    for one)."""
    facts = ModuleFacts(name, path)
    yields = None if source is None else yield_lines(source)
    is_package = os.path.basename(path) == "__init__.py"
    spawners: list[tuple[str | None, str, str]] = []
    """(class or None, function, callee as written) for functions returning a call."""
    decorators: list[tuple[ast.FunctionDef, str, list[ast.AST]]] = []
    """Module functions that may be decorators: (def, the name it returns, nested defs)."""
    for node in top_level(tree.body):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            nested: list[ast.AST] = []
            statements = _own_statements(node.body, nested)
            facts.functions[node.name], spawner = _function_fact(node, statements, yields)
            spawners += [(None, node.name, spawner)] if spawner else []
            if isinstance(node, ast.FunctionDef) and not node.decorator_list:
                result = _returned_name(statements)
                decorators += [(node, result, nested)] if result else []
        elif isinstance(node, ast.ClassDef):
            facts.classes[node.name], returned = _class_fact(node, yields)
            spawners += [(node.name, method, callee) for method, callee in returned.items()]
        elif isinstance(node, ast.Import):
            for alias in node.names:
                local = alias.asname or alias.name.split(".")[0]
                facts.imports[local] = alias.name if alias.asname else local
        elif isinstance(node, ast.ImportFrom):
            source_module = absolute_import(name, is_package, node.level, node.module or "")
            for alias in node.names:
                if alias.name != "*":
                    facts.imports[alias.asname or alias.name] = f"{source_module}.{alias.name}"
    for table in (facts.functions, *(cls.methods for cls in facts.classes.values())):
        table.update((k, _qualified(v, facts)) for k, v in table.items())
    for node, result, nested in decorators:
        facts.functions[node.name] = dataclasses.replace(
            facts.functions[node.name],
            as_decorator=_decorator_effect(node, result, nested, facts),
            as_factory=_factory_effect(result, nested, facts),
        )
    for cls in facts.classes.values():
        cls.bases = tuple(qualify(base, facts) for base in cls.bases)
        cls.attributes = {k: qualify(v, facts) for k, v in cls.attributes.items()}
    if locks:
        facts.lock_pairs = lockorder.lock_pairs(tree, name, facts.imports)
    for owner, function, callee in spawners:
        table = facts.functions if owner is None else facts.classes[owner].methods
        if _is_task_factory(qualify(callee, facts)):
            table[function] = dataclasses.replace(table[function], returns_task=True)
    return facts


@dataclass(frozen=True)
class Outline:
    """What the pre-filter needs from a project file's syntax tree besides its facts,
    recorded by the first pass for the files without ``async`` and ``await`` (the others
    keep every rule) so that their check does not parse them with ``ast`` again. Kept
    apart from the facts, which key the cache: a nested import changes no other file's
    findings. Good only for the text it was made from (:meth:`ProjectIndex.outline`)."""

    checksum: int
    """:func:`checksum` of that text."""
    reached: tuple[str, ...]
    """What the file's imports reach (:func:`reached_by_imports`)."""


def first_pass(path: str) -> tuple[ModuleFacts | None, Outline | None]:
    """The facts and outline of the project file at `path`, from one ``ast`` parse."""
    try:
        with open(path, "rb") as file:
            data = file.read()
    except OSError:
        return None, None
    return first_pass_of(data, path)


def first_pass_of(
    data: bytes, path: str, name: str | None = None
) -> tuple[ModuleFacts | None, Outline | None]:
    """:func:`first_pass` of the file's bytes, decoded as the checks decode them; bytes
    that do not decode are parsed as they are (no outline: the checks report them)."""
    text = _decoded(data)
    if text is None:
        return facts_for(path, data, name), None
    tree = syntax_tree(text)
    if tree is None:
        return None, None
    name = name or module_name(path)
    facts = facts_of(tree, path, name, source=text)
    if has_async(text):
        return facts, None  # the pre-filter keeps every rule of async code
    reached = reached_by_imports(tree, name, os.path.basename(path) == "__init__.py")
    return facts, Outline(checksum(text), tuple(reached))


@lru_cache(maxsize=1)
def syntax_tree(text: str) -> ast.Module | None:
    """CPython's tree of `text`, None when it does not parse. The last one is kept: the
    stages that need it for the same file ask one after another."""
    try:
        return ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None


@lru_cache(maxsize=1)
def checksum(text: str) -> int:
    """What tells the text an outline was made from (the pre-filter and the syntax check
    ask about the same file one after another)."""
    return zlib.crc32(text.encode("utf-8", "surrogatepass"))


def reached_by_imports(tree: ast.Module, module: str, is_package: bool) -> Iterator[str]:
    """What the code reaches through each import anywhere in `tree` (function and class
    bodies included): ``import a.b`` binds ``a``, ``import a.b as c`` reaches ``a.b``,
    ``from m import x`` reaches ``m.x``, a star import its module."""
    for node in statements(tree.body):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name if alias.asname else alias.name.partition(".")[0]
        elif isinstance(node, ast.ImportFrom):
            base = absolute_import(module, is_package, node.level, node.module or "")
            for alias in node.names:
                yield base if alias.name == "*" else f"{base}.{alias.name}"


def _is_task_factory(callee: str) -> bool:
    receiver, _, method = callee.rpartition("().")
    if receiver:
        return RETURN_TYPES.get(receiver) == LOOP and method in LOOP_TASK_METHODS
    return callee in TASK_FACTORIES or callee in ENSURE_FUTURE


def _returned_spawner(statements: list[ast.AST]) -> str | None:
    """The callee every ``return`` of the function calls, when it is the same everywhere."""
    callees = set()
    for statement in statements:
        if isinstance(statement, ast.Return):
            value = statement.value
            if not isinstance(value, ast.Call):
                return None
            callee = _callee(value.func)
            if callee is None:
                return None
            callees.add(callee)
    return callees.pop() if len(callees) == 1 else None


def _callee(func: ast.expr) -> str | None:
    """``asyncio.create_task`` or ``asyncio.get_running_loop().create_task`` as written."""
    if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Call) and not func.value.args:
        inner = dotted(func.value.func)
        return None if inner is None else f"{inner}().{func.attr}"
    return dotted(func)


def _own_statements(body: list[ast.stmt], nested: list[ast.AST] | None = None) -> list[ast.AST]:
    """The statements of a function body at any depth (with ``except`` and ``case`` clauses),
    not entering nested functions or classes (collected into `nested` when given);
    expressions are not walked, which keeps this first pass a small multiple of ``ast.parse``."""
    found: list[ast.AST] = []
    stack: list[ast.AST] = list(body)
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            if nested is not None:
                nested.append(node)
            continue
        found.append(node)
        for field_name in BODIES:
            stack.extend(getattr(node, field_name, ()))
    return found


def _is_generator(statements: list[ast.AST], yields: Sequence[int] | None = None) -> bool:
    """A ``yield`` in a simple statement (``yield x``, ``y = yield``, ``return (yield)``);
    with `yields` (:func:`yield_lines`), only statements on those lines are walked."""
    return any(
        isinstance(child, (ast.Yield, ast.YieldFrom))
        for statement in statements
        if not hasattr(statement, "body") and _spans(statement, yields)
        for child in ast.walk(statement)
    )


def _spans(node: ast.AST, lines: Sequence[int] | None) -> bool:
    """`node` covers one of `lines` (sorted); None stands for every line."""
    if lines is None:
        return True
    first = getattr(node, "lineno", 1)
    at = bisect.bisect_left(lines, first)
    return at < len(lines) and lines[at] <= (getattr(node, "end_lineno", None) or first)


def yield_lines(text: str) -> list[int]:
    """The lines that spell ``yield`` (comments and strings too), in order: walking the
    expressions of every statement for a ``yield`` costs the first pass a third of its time,
    and most functions have none."""
    found: list[int] = []
    line, counted = 1, 0
    at = text.find("yield")
    while at != -1:
        line += sources.line_breaks(text, counted, at)
        counted = at
        if not found or found[-1] != line:
            found.append(line)
        at = text.find("yield", at + 1)
    return found


def top_level(body: list[ast.stmt]) -> Iterator[ast.stmt]:
    """Module statements, looking inside ``if``/``try`` (``TYPE_CHECKING``, fallbacks)."""
    for node in body:
        if isinstance(node, ast.If):
            yield from top_level(node.body)
            yield from top_level(node.orelse)
        elif isinstance(node, ast.Try):
            yield from top_level(node.body)
            for handler in node.handlers:
                yield from top_level(handler.body)
        else:
            yield node


def dotted(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        base = dotted(node.value)
        return None if base is None else f"{base}.{node.attr}"
    if isinstance(node, ast.Subscript):  # Generic[T], Optional[X]: the origin for bases
        return dotted(node.value)
    return None


def qualify(written: str, facts: ModuleFacts) -> str:
    """A name as written in the module → absolute, through the module's own bindings."""
    bound = qualify_bound(written, facts.name, facts.imports, facts.classes, facts.functions)
    return written if bound is None else bound


def qualify_bound(
    written: str,
    module: str,
    imports: Mapping[str, str],
    *defined: Container[str],
) -> str | None:
    """`written` → absolute when its first name is imported (local → absolute in `imports`)
    or is one of the names `module` defines; None when it is bound otherwise or not at all."""
    head, _, rest = written.partition(".")
    if head in imports:
        target = imports[head]
    elif any(head in names for names in defined):
        target = f"{module}.{head}"
    else:
        return None
    return f"{target}.{rest}" if rest else target


def _function_fact(
    node: ast.FunctionDef | ast.AsyncFunctionDef,
    statements: list[ast.AST],
    yields: Sequence[int] | None,
    method: bool = False,
) -> tuple[FunctionFact, str | None]:
    """The fact, with names as written (:func:`_qualified` resolves them once the module's
    imports are known), and the task factory every return calls, if any.
    `statements` are the function's own (:func:`_own_statements`)."""
    decorators = tuple(map(_decorator_written, node.decorator_list))
    is_async = isinstance(node, ast.AsyncFunctionDef) and not _is_generator(statements, yields)
    returns = None if node.returns is None else _annotation_class(node.returns, generic=True)
    if returns is None and method and not decorators and _returns_receiver(node, statements):
        returns = SELF
    return FunctionFact(is_async, decorators, returns=returns), _returned_spawner(statements)


def _decorator_written(decorator: ast.expr) -> str:
    """A dotted name, ``()`` appended when called; ``?`` for anything else
    (``@registry["x"]``, ``@handlers[0].add``)."""
    called = isinstance(decorator, ast.Call)
    node = decorator.func if isinstance(decorator, ast.Call) else decorator
    inner = node
    while isinstance(inner, ast.Attribute):
        inner = inner.value
    name = dotted(node) if isinstance(inner, ast.Name) else None
    return "?" if name is None else f"{name}()" if called else name


def _returns_receiver(
    node: ast.FunctionDef | ast.AsyncFunctionDef, statements: list[ast.AST]
) -> bool:
    """Every ``return`` of the method hands back its first parameter (``return self``)."""
    params = [*node.args.posonlyargs, *node.args.args]
    return bool(params) and _returned_name(statements) == params[0].arg


def _returned_name(statements: list[ast.AST]) -> str | None:
    """The name every ``return`` returns (``return wrapper``), when there is one."""
    names = {
        statement.value.id if isinstance(statement.value, ast.Name) else None
        for statement in statements
        if isinstance(statement, ast.Return)
    }
    return names.pop() if len(names) == 1 else None


def _qualified(fact: FunctionFact, facts: ModuleFacts) -> FunctionFact:
    """`fact` with its decorators and returned class resolved through the module's imports."""
    qualified = []
    for written in fact.decorators:
        called = written.endswith("()")
        name = qualify(written.removesuffix("()"), facts)
        name = f"builtins.{name}" if name in _BUILTIN_DECORATORS else name
        if name not in TRANSPARENT_DECORATORS:
            qualified.append(f"{name}()" if called else name)
    returns = fact.returns if fact.returns in (None, SELF) else qualify(fact.returns, facts)
    returns = SELF if returns in SELF_TYPES else returns
    return dataclasses.replace(fact, decorators=tuple(qualified), returns=returns)


def _decorator_effect(
    node: ast.FunctionDef, returned: str | None, nested: list[ast.AST], facts: ModuleFacts
) -> Effect | None:
    """What ``@node`` does, from the name every ``return`` of it returns: the function it
    is given, or a wrapper among its `nested` definitions (:func:`_wrapper_effect`)."""
    params = [*node.args.posonlyargs, *node.args.args]
    if not params or returned is None:
        return None
    wrapped = params[0].arg
    if returned == wrapped:
        return "same"
    return _agreed(_wrapper_effect(d, wrapped, facts) for d in _defs_named(nested, returned))


def _factory_effect(returned: str, nested: list[ast.AST], facts: ModuleFacts) -> Effect | None:
    """What ``@node(...)`` does: `node` returns `returned`, a decorator among its `nested`
    definitions."""
    effects = []
    for decorator in _defs_named(nested, returned):
        if not isinstance(decorator, ast.FunctionDef) or decorator.decorator_list:
            return None
        inner: list[ast.AST] = []
        statements = _own_statements(decorator.body, inner)
        effects.append(_decorator_effect(decorator, _returned_name(statements), inner, facts))
    return _agreed(effects)


def _defs_named(
    nested: list[ast.AST], name: str
) -> Iterator[ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef]:
    for node in nested:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and (
            node.name == name
        ):
            yield node


def _agreed(effects: Iterable[Effect | None]) -> Effect | None:
    found = set(effects)
    return found.pop() if len(found) == 1 else None


def _wrapper_effect(
    wrapper: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef, wrapped: str, facts: ModuleFacts
) -> Effect | None:
    """An ``async def`` wrapper makes calls return a coroutine; a sync one whose every
    ``return`` calls `wrapped` keeps their kind, one whose every ``return`` runs a coroutine
    on a loop (``asyncio.run(...)``) makes them sync. ``functools.wraps`` may decorate it."""
    if isinstance(wrapper, ast.ClassDef) or not all(
        isinstance(d, ast.Call) and qualify(dotted(d.func) or "?", facts) == "functools.wraps"
        for d in wrapper.decorator_list
    ):
        return None
    statements = _own_statements(wrapper.body)
    if _is_generator(statements):
        return None
    if isinstance(wrapper, ast.AsyncFunctionDef):
        return "async"
    callees = {
        _callee(statement.value.func) if isinstance(statement.value, ast.Call) else None
        for statement in statements
        if isinstance(statement, ast.Return)
    }
    if callees == {wrapped}:
        return "same"
    loops = _loop_names(statements, facts)
    if callees and all(c is not None and _runs_loop(c, loops, facts) for c in callees):
        return "sync"
    return None


def _loop_names(statements: list[ast.AST], facts: ModuleFacts) -> set[str]:
    """Names assigned an event loop (``loop = asyncio.new_event_loop()``)."""
    return {
        statement.targets[0].id
        for statement in statements
        if isinstance(statement, ast.Assign)
        and len(statement.targets) == 1
        and isinstance(statement.targets[0], ast.Name)
        and isinstance(statement.value, ast.Call)
        and RETURN_TYPES.get(qualify(dotted(statement.value.func) or "?", facts)) == LOOP
    }


def _runs_loop(callee: str, loops: set[str], facts: ModuleFacts) -> bool:
    """``asyncio.run``, or ``run_until_complete`` of a known event loop."""
    receiver, _, method = callee.rpartition(".")
    if method != "run_until_complete":
        return qualify(callee, facts) == "asyncio.run"
    if receiver.endswith("()"):
        return RETURN_TYPES.get(qualify(receiver.removesuffix("()"), facts)) == LOOP
    return receiver in loops


def _class_fact(
    node: ast.ClassDef, yields: Sequence[int] | None
) -> tuple[ClassFact, dict[str, str]]:
    """The fact and, by method, the task factory every return of the method calls."""
    fact = ClassFact(bases=tuple(b for b in map(dotted, node.bases) if b))
    spawners: dict[str, str] = {}
    for statement in node.body:
        if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef)):
            statements = _own_statements(statement.body)
            fact.methods[statement.name], spawner = _function_fact(
                statement, statements, yields, method=True
            )
            if spawner:
                spawners[statement.name] = spawner
            fact.attributes.update(_self_attributes(statement, statements))
        elif isinstance(statement, ast.AnnAssign) and isinstance(statement.target, ast.Name):
            annotated = _annotation_class(statement.annotation)
            if annotated:
                fact.attributes.setdefault(statement.target.id, annotated)
    return fact, spawners


def _annotation_class(annotation: ast.expr, generic: bool = False) -> str | None:
    """The class an annotation names (``Optional`` and ``| None`` stripped); with `generic`,
    a subscripted generic names its origin (``Coroutine[None, None, int]`` → ``Coroutine``)."""
    plain = plain_annotation(annotation)
    if plain is None:
        return None
    annotation = plain
    if isinstance(annotation, ast.Subscript):
        origin = dotted(annotation.value) or ""
        if origin.endswith("Optional"):
            return _annotation_class(annotation.slice, generic)
        return origin if generic and not origin.endswith("Union") else None
    if isinstance(annotation, (ast.Name, ast.Attribute)):
        return dotted(annotation)
    return None


def plain_annotation(annotation: ast.expr) -> ast.expr | None:
    """`annotation` with a string annotation parsed and ``X | None`` reduced to ``X``; None
    when it does not parse or is a union of several types."""
    if isinstance(annotation, ast.Constant) and isinstance(annotation.value, str):
        try:
            annotation = ast.parse(annotation.value, mode="eval").body
        except SyntaxError:
            return None
    if isinstance(annotation, ast.BinOp) and isinstance(annotation.op, ast.BitOr):
        sides = [s for s in (annotation.left, annotation.right) if not _is_none(s)]
        return plain_annotation(sides[0]) if len(sides) == 1 else None
    return annotation


def _is_none(node: ast.expr) -> bool:
    return isinstance(node, ast.Constant) and node.value is None


def _self_attributes(
    method: ast.FunctionDef | ast.AsyncFunctionDef, statements: list[ast.AST]
) -> dict[str, str]:
    """``self.x = Cls(...)`` and ``self.x: Cls`` in a method (first parameter = receiver)."""
    params = [*method.args.posonlyargs, *method.args.args]
    if not params:
        return {}
    receiver = params[0].arg
    found: dict[str, str] = {}
    conflicting: set[str] = set()
    for node in statements:
        target: ast.expr | None = None
        value: str | None = None
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target = node.targets[0]
            if isinstance(node.value, ast.Call):
                value = dotted(node.value.func)
        elif isinstance(node, ast.AnnAssign):
            target, value = node.target, _annotation_class(node.annotation)
        if not (
            isinstance(target, ast.Attribute)
            and isinstance(target.value, ast.Name)
            and target.value.id == receiver
        ):
            continue
        if value is None or found.get(target.attr, value) != value:
            conflicting.add(target.attr)
        else:
            found[target.attr] = value
    return {k: v for k, v in found.items() if k not in conflicting}


class _Folders:
    """The names in folders of the search path, each folder listed once: a lookup asks
    every entry of the search path for every module name, and a check of a project of
    loose scripts has hundreds of entries (one per folder of scripts)."""

    def __init__(self) -> None:
        self._names: dict[str, frozenset[str]] = {}
        self._path: tuple[str, ...] = ()
        self._holders: dict[str, list[str]] = {}

    def names(self, folder: str) -> frozenset[str]:
        found = self._names.get(folder)
        if found is None:
            try:
                found = frozenset(os.listdir(folder))
            except OSError:
                found = frozenset()
            self._names[folder] = found
        return found

    def find_source(self, module: str, search_path: Sequence[str]) -> tuple[str, str] | None:
        """The search path entry and file defining `module`, stubs first; never imports."""
        *packages, last = module.split(".")
        for directory in self._holding(packages[0] if packages else last, search_path):
            folder = os.path.join(directory, *packages)
            names = self.names(folder)
            if not names:
                continue
            candidates = [os.path.join(folder, f"{last}.pyi"), os.path.join(folder, f"{last}.py")]
            if last in names:
                package = os.path.join(folder, last)
                candidates += [
                    os.path.join(package, "__init__.pyi"),
                    os.path.join(package, "__init__.py"),
                ]
            for path in candidates:
                if os.path.basename(path) in self.names(os.path.dirname(path)) and os.path.isfile(
                    path
                ):
                    return directory, path
        return None

    def _holding(self, name: str, search_path: Sequence[str]) -> list[str]:
        """The entries of `search_path`, in order, that list `name`, `name.py` or
        `name.pyi`: only they can hold a module whose dotted name starts with `name`."""
        if tuple(search_path) != self._path:
            self._path = tuple(search_path)
            self._holders = {}
            for directory in dict.fromkeys(search_path):
                for entry in self.names(directory):
                    stem = entry.removesuffix(".pyi") if entry.endswith(".pyi") else entry
                    holders = self._holders.setdefault(stem.removesuffix(".py"), [])
                    if not holders or holders[-1] != directory:
                        holders.append(directory)
        return self._holders.get(name, [])


class Exchange(Protocol):
    """Where the processes of one run share the modules they read lazily
    (:class:`asynclint.exchange.Folder`)."""

    def take(self, name: str) -> ModuleFacts | None:
        """The facts another process left for module `name`, if any."""

    def offer(self, facts: ModuleFacts) -> None:
        """Leave facts just read for the others."""


def installed_search_path() -> list[str]:
    """Where the running interpreter finds installed packages (and the standard library);
    the current directory is left out: the project itself is indexed separately."""
    return [entry for entry in sys.path if entry and os.path.isdir(entry) and entry != os.getcwd()]


class ProjectIndex:
    """Facts of every module in scope, queried by absolute dotted name.

    Modules outside the project (installed packages, the standard library) are read lazily
    from `search_path` the first time a name in them is asked about, and cached.
    """

    def __init__(
        self,
        modules: Iterable[ModuleFacts] = (),
        search_path: Sequence[str] = (),
        configured: Configured = NOTHING,
        outlines: Mapping[str, Outline] | None = None,
    ) -> None:
        self.modules: dict[str, ModuleFacts] = {m.name: m for m in modules}
        self.indexed = frozenset(self.modules)
        """The modules given up front (the files in scope), not those read lazily since."""
        self.search_path = list(search_path)
        self.project_roots: tuple[str, ...] = ()
        """Entries of `search_path` that hold the project's own modules."""
        self.configured = configured
        self._missing: set[str] = set()
        self._splits: dict[str, tuple[ModuleFacts, str] | None] = {}
        self._folders = _Folders()
        self._shared: dict[object, object] = {}
        self._outlines = outlines or {}
        """By path, for the files of the first pass (:func:`build`); what the index found,
        like its modules, not how it was set up."""
        self.exchange: Exchange | None = None
        """Set in the workers of a pool (:mod:`asynclint.parallel`)."""

    def shared(self, key: object, make: Callable[[], _T]) -> _T:
        """A structure derived from this index (a call graph, a lock graph), built by `make`
        the first time `key` is asked for and kept with the index; workers that receive a
        pickled index build their own."""
        if key not in self._shared:
            self._shared[key] = make()
        return cast(_T, self._shared[key])

    def __getstate__(self) -> dict[str, object]:
        return {**self.__dict__, "_shared": {}, "_splits": {}, "exchange": None}

    def outline(self, path: str, text: str) -> Outline | None:
        """The outline the first pass recorded for the file at `path`, if it read `text`."""
        found = self._outlines.get(path)
        return found if found is not None and found.checksum == checksum(text) else None

    def call_kind(self, fact: FunctionFact | None) -> bool | None:
        """Whether calling the function returns a coroutine; None when unknown."""
        return None if fact is None else self.decorated_kind(fact.makes_coroutine, fact.decorators)

    def decorated_kind(self, is_async: bool, decorators: Sequence[str | None]) -> bool | None:
        """Whether calling a function decorated by `decorators` (outermost first, qualified,
        ``()`` appended when called; None where unresolvable) returns a coroutine; the
        outermost decorator that decides it wins, and an unknown one before it hides it."""
        for decorator in decorators:
            effect = None if decorator is None else self.decorator_effect(decorator)
            if effect != "same":
                return None if effect is None else effect == "async"
        return is_async

    def decorator_effect(self, decorator: str) -> Effect | None:
        """What `decorator` (as in :attr:`FunctionFact.decorators`) does: the configuration
        first, then what the decorator's own code shows."""
        name = decorator.removesuffix("()")
        configured = self.configured.decorator_effect(name)
        if configured is not None or name == "?":
            return configured
        fact = self.function(name)
        if fact is None:
            return None
        return fact.as_factory if decorator.endswith("()") else fact.as_decorator

    def __len__(self) -> int:
        return len(self.modules)

    def _module(self, name: str) -> ModuleFacts | None:
        found = self.modules.get(name)
        if found is not None or name in self._missing or not self.search_path:
            return found
        where = self._folders.find_source(name, self.search_path)
        found = None if where is None or self.exchange is None else self.exchange.take(name)
        if found is None and where is not None:
            found = facts_for(where[1], name=name, locks=False)
            if found is not None:
                found.in_project = where[0] in self.project_roots
                if self.exchange is not None:
                    self.exchange.offer(found)
        if found is None:
            self._missing.add(name)
            return None
        self.modules[name] = found
        return found

    def _split(self, qualname: str) -> tuple[ModuleFacts, str] | None:
        """The module holding `qualname` and the rest of the name inside it (remembered:
        rules ask about the same names file after file, and modules once found or missing
        stay so for the index's life)."""
        if qualname in self._splits:
            return self._splits[qualname]
        found = None
        parts = qualname.split(".")
        for cut in range(len(parts) - 1, 0, -1):
            module = self._module(".".join(parts[:cut]))
            if module is not None:
                found = module, ".".join(parts[cut:])
                break
        self._splits[qualname] = found
        return found

    def locate(self, qualname: str) -> tuple[ModuleFacts, str] | None:
        """The module defining `qualname` (re-exports followed) and the name inside it."""
        return self._split(self.resolve(qualname))

    def resolve(self, qualname: str) -> str:
        """Follow re-exports (``pkg.Store`` imported in ``pkg/__init__.py``) to the definition."""
        for _ in range(_MAX_HOPS):
            found = self._split(qualname)
            if found is None:
                return qualname
            module, rest = found
            head, _, tail = rest.partition(".")
            if head in module.functions or head in module.classes or head not in module.imports:
                return qualname
            target = module.imports[head]
            qualname = f"{target}.{tail}" if tail else target
        return qualname

    def function(self, qualname: str) -> FunctionFact | None:
        found = self._split(self.resolve(qualname))
        if found is None:
            return None
        module, rest = found
        if rest in module.functions:
            return module.functions[rest]
        cls_name, _, method = rest.partition(".")
        if method and cls_name in module.classes:
            return self.method(f"{module.name}.{cls_name}", method)
        return None

    def class_fact(self, qualname: str) -> tuple[str, ClassFact] | None:
        """The class's canonical name and facts."""
        resolved = self.resolve(qualname)
        found = self._split(resolved)
        if found is None:
            return None
        module, rest = found
        fact = module.classes.get(rest)
        return None if fact is None else (f"{module.name}.{rest}", fact)

    def method(self, class_name: str, name: str, hops: int = 0) -> FunctionFact | None:
        """A method through the class and its project bases (depth-first, like a simple MRO);
        None when a base outside the project could define it."""
        found = self.class_fact(class_name)
        if found is None or hops > _MAX_HOPS:
            return None
        _, fact = found
        if name in fact.methods:
            return fact.methods[name]
        for base in fact.bases:
            if base in ("object", "typing.Generic", "Generic", "typing.Protocol", "Protocol"):
                continue
            inherited = self.method(base, name, hops + 1)
            if inherited is not None:
                return inherited
            if self.class_fact(base) is None:
                return None
        return None

    def attribute_class(self, class_name: str, attribute: str, hops: int = 0) -> str | None:
        found = self.class_fact(class_name)
        if found is None or hops > _MAX_HOPS:
            return None
        _, fact = found
        if attribute in fact.attributes:
            return fact.attributes[attribute]
        for base in fact.bases:
            inherited = self.attribute_class(base, attribute, hops + 1)
            if inherited is not None:
                return inherited
        return None


_active = ProjectIndex()


def set_active(index: ProjectIndex) -> None:
    """Make `index` the one every file checked in this process resolves against (the CLI
    sets it before starting workers; workers receive it once, at start-up)."""
    global _active
    _active = index


def active() -> ProjectIndex:
    return _active


_Read = tuple[ModuleFacts | None, Outline | None]


def build(
    paths: Iterable[str],
    search_path: Sequence[str] = (),
    configured: Configured = NOTHING,
    mapper: Callable[[Callable[[str], _Read], list[str]], Iterable[_Read]] = map,
) -> ProjectIndex:
    """The index of `paths`, one ``ast`` parse each (:func:`first_pass`, run by `mapper`:
    in this process unless a pool's ``map`` is given). The facts and outlines hold no
    reference cycles, nor do the ``ast`` trees, so the cyclic collector is paused."""
    paths = list(paths)
    with collector.paused():
        read = list(mapper(first_pass, paths))
    outlines = {path: outline for path, (_, outline) in zip(paths, read, strict=True) if outline}
    modules = (facts for facts, _ in read if facts is not None)
    return ProjectIndex(modules, search_path, configured, outlines)
