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
import dataclasses
import os
import sys
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field

from asynclint import lockorder
from asynclint.knowledge.asyncio_api import (
    ENSURE_FUTURE,
    LOOP,
    LOOP_TASK_METHODS,
    RETURN_TYPES,
    TASK_FACTORIES,
)
from asynclint.knowledge.configured import NOTHING, Configured
from asynclint.knowledge.coroutines import TRANSPARENT_DECORATORS

_BUILTIN_DECORATORS = frozenset(["staticmethod", "classmethod", "property"])
_MAX_HOPS = 12


@dataclass(frozen=True)
class FunctionFact:
    is_async: bool
    """Calling it returns a coroutine: an ``async def`` that is not an async generator."""
    decorators: tuple[str, ...] = ()
    """Qualified names of its decorators, outermost first, except the known transparent
    ones; ``?`` where a decorator is not a dotted name (``@registry["x"]``)."""
    returns_task: bool = False
    """Every ``return`` hands back a task it just created (``return asyncio.create_task(...)``):
    dropping the call's result drops the only reference to that task (ASL102)."""

    @property
    def opaque(self) -> bool:
        """Decorated by something that may change what a call returns."""
        return bool(self.decorators)


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


def facts_for(path: str, source: str | None = None, name: str | None = None) -> ModuleFacts | None:
    """One module's facts; None when it cannot be read or parsed (rules then know less)."""
    try:
        if source is None:
            with open(path, "rb") as file:
                tree = ast.parse(file.read())
        else:
            tree = ast.parse(source)
    except (OSError, SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    name = name or module_name(path)
    facts = ModuleFacts(name, path)
    is_package = os.path.basename(path) == "__init__.py"
    spawners: list[tuple[str | None, str, str]] = []
    """(class or None, function, callee as written) for functions returning a call."""
    for node in top_level(tree.body):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            facts.functions[node.name], spawner = _function_fact(node, _own_statements(node.body))
            spawners += [(None, node.name, spawner)] if spawner else []
        elif isinstance(node, ast.ClassDef):
            facts.classes[node.name], returned = _class_fact(node)
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
        table.update((k, _qualified_decorators(v, facts)) for k, v in table.items())
    for cls in facts.classes.values():
        cls.bases = tuple(qualify(base, facts) for base in cls.bases)
        cls.attributes = {k: qualify(v, facts) for k, v in cls.attributes.items()}
    facts.lock_pairs = lockorder.lock_pairs(tree, name, facts.imports)
    for owner, function, callee in spawners:
        table = facts.functions if owner is None else facts.classes[owner].methods
        if _is_task_factory(qualify(callee, facts)):
            table[function] = dataclasses.replace(table[function], returns_task=True)
    return facts


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


def _own_statements(body: list[ast.stmt]) -> list[ast.AST]:
    """The statements of a function body at any depth (with ``except`` and ``case`` clauses),
    not entering nested functions or classes; expressions are not walked, which keeps this
    first pass a small multiple of ``ast.parse``."""
    found: list[ast.AST] = []
    stack: list[ast.AST] = list(body)
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            continue
        found.append(node)
        for field_name in _BODIES:
            stack.extend(getattr(node, field_name, ()))
    return found


_BODIES = ("body", "orelse", "finalbody", "handlers", "cases")
"""The fields holding nested statements in compound statements."""


def _is_generator(statements: list[ast.AST]) -> bool:
    """A ``yield`` in a simple statement (``yield x``, ``y = yield``, ``return (yield)``)."""
    return any(
        isinstance(child, (ast.Yield, ast.YieldFrom))
        for statement in statements
        if not hasattr(statement, "body")
        for child in ast.walk(statement)
    )


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
    head, _, rest = written.partition(".")
    if head in facts.imports:
        target = facts.imports[head]
    elif head in facts.classes or head in facts.functions:
        target = f"{facts.name}.{head}"
    else:
        return written
    return f"{target}.{rest}" if rest else target


def _function_fact(
    node: ast.FunctionDef | ast.AsyncFunctionDef, statements: list[ast.AST]
) -> tuple[FunctionFact, str | None]:
    """The fact, with decorators as written (:func:`_qualified_decorators` resolves them
    once the module's imports are known), and the task factory every return calls, if any.
    `statements` are the function's own (:func:`_own_statements`)."""
    decorators = tuple(
        dotted(decorator.func if isinstance(decorator, ast.Call) else decorator) or "?"
        for decorator in node.decorator_list
    )
    is_async = isinstance(node, ast.AsyncFunctionDef) and not _is_generator(statements)
    return FunctionFact(is_async, decorators), _returned_spawner(statements)


def _qualified_decorators(fact: FunctionFact, facts: ModuleFacts) -> FunctionFact:
    qualified = []
    for written in fact.decorators:
        name = qualify(written, facts)
        name = f"builtins.{name}" if name in _BUILTIN_DECORATORS else name
        if name not in TRANSPARENT_DECORATORS:
            qualified.append(name)
    return dataclasses.replace(fact, decorators=tuple(qualified))


def _class_fact(node: ast.ClassDef) -> tuple[ClassFact, dict[str, str]]:
    """The fact and, by method, the task factory every return of the method calls."""
    fact = ClassFact(bases=tuple(b for b in map(dotted, node.bases) if b))
    spawners: dict[str, str] = {}
    for statement in node.body:
        if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef)):
            statements = _own_statements(statement.body)
            fact.methods[statement.name], spawner = _function_fact(statement, statements)
            if spawner:
                spawners[statement.name] = spawner
            fact.attributes.update(_self_attributes(statement, statements))
        elif isinstance(statement, ast.AnnAssign) and isinstance(statement.target, ast.Name):
            annotated = _annotation_class(statement.annotation)
            if annotated:
                fact.attributes.setdefault(statement.target.id, annotated)
    return fact, spawners


def _annotation_class(annotation: ast.expr) -> str | None:
    if isinstance(annotation, ast.Constant) and isinstance(annotation.value, str):
        try:
            annotation = ast.parse(annotation.value, mode="eval").body
        except SyntaxError:
            return None
    if isinstance(annotation, ast.BinOp) and isinstance(annotation.op, ast.BitOr):
        sides = [s for s in (annotation.left, annotation.right) if not _is_none(s)]
        return _annotation_class(sides[0]) if len(sides) == 1 else None
    if isinstance(annotation, ast.Subscript) and (dotted(annotation.value) or "").endswith(
        "Optional"
    ):
        return _annotation_class(annotation.slice)
    if isinstance(annotation, (ast.Name, ast.Attribute)):
        return dotted(annotation)
    return None


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
        for directory in search_path:
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
    ) -> None:
        self.modules: dict[str, ModuleFacts] = {m.name: m for m in modules}
        self.search_path = list(search_path)
        self.project_roots: tuple[str, ...] = ()
        """Entries of `search_path` that hold the project's own modules."""
        self.configured = configured
        self._missing: set[str] = set()
        self._folders = _Folders()

    def call_kind(self, fact: FunctionFact | None) -> bool | None:
        """Whether calling the function returns a coroutine; None when unknown."""
        return None if fact is None else self.configured.call_kind(fact.is_async, fact.decorators)

    def __len__(self) -> int:
        return len(self.modules)

    def _module(self, name: str) -> ModuleFacts | None:
        found = self.modules.get(name)
        if found is not None or name in self._missing or not self.search_path:
            return found
        where = self._folders.find_source(name, self.search_path)
        found = None if where is None else facts_for(where[1], name=name)
        if where is None or found is None:
            self._missing.add(name)
            return None
        found.in_project = where[0] in self.project_roots
        self.modules[name] = found
        return found

    def _split(self, qualname: str) -> tuple[ModuleFacts, str] | None:
        """The module holding `qualname` and the rest of the name inside it."""
        parts = qualname.split(".")
        for cut in range(len(parts) - 1, 0, -1):
            module = self._module(".".join(parts[:cut]))
            if module is not None:
                return module, ".".join(parts[cut:])
        return None

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


def build(
    paths: Iterable[str], search_path: Sequence[str] = (), configured: Configured = NOTHING
) -> ProjectIndex:
    """The index of `paths` (one ``ast`` parse each), in this process."""
    facts = (fact for fact in map(facts_for, paths) if fact is not None)
    return ProjectIndex(facts, search_path, configured)
