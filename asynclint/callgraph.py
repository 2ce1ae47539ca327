"""Which sync functions of the project block, directly or through other sync functions.

ASL307 asks it about the sync project functions an `async def` calls. The answer is worked
out on demand and memoised: the function's module is parsed with ``ast`` (once per module
and process) and its own calls are followed (not those in nested functions or lambdas,
which run elsewhere; a function handed to ``asyncio.to_thread`` is passed, not called).
A call blocks when it is a module-level blocking API of the shared knowledge table that
blocks with any arguments. Only functions of the project itself are followed, never
installed packages; unknown decorators, receivers of unknown type and cycles end a path.
"""

from __future__ import annotations

import ast
import functools
from dataclasses import dataclass

from asynclint import dependencies, index
from asynclint.knowledge.blocking import FUNCTIONS

_MAX_DEPTH = 12
_BUILTINS = frozenset(
    name.removeprefix("builtins.") for name in FUNCTIONS if name.startswith("builtins.")
)


@dataclass(frozen=True)
class Chain:
    """Sync project functions from the first callee to the one making the blocking call."""

    functions: tuple[str, ...]
    """Qualified names, the first being the function the async code calls."""
    blocking: str
    """The blocking API called at the end (``time.sleep``)."""
    path: str
    """The file and line of the blocking call."""
    line: int


@functools.lru_cache(maxsize=256)
def _tree(path: str) -> ast.Module | None:
    try:
        with open(path, "rb") as file:
            return ast.parse(file.read())
    except (OSError, SyntaxError, ValueError, RecursionError, MemoryError):
        return None


def _definition(tree: ast.Module, rest: str) -> tuple[ast.FunctionDef, str | None] | None:
    """The sync ``def`` named `rest` (``f`` or ``Class.f``) and its class, if any."""
    owner, _, name = rest.rpartition(".")
    body: list[ast.stmt] = tree.body
    if owner:
        classes = [n for n in index.top_level(tree.body) if isinstance(n, ast.ClassDef)]
        found = [n for n in classes if n.name == owner]
        if len(found) != 1:
            return None
        body = found[0].body
    defs = [n for n in index.top_level(body) if getattr(n, "name", None) == name]
    if len(defs) != 1 or not isinstance(defs[0], ast.FunctionDef):
        return None
    return defs[0], owner or None


def _own_calls(function: ast.FunctionDef) -> list[ast.Call]:
    """Calls the function makes itself, in source order."""
    calls: list[ast.Call] = []
    stack: list[ast.AST] = list(reversed(function.body))
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)):
            continue
        if isinstance(node, ast.Call):
            calls.append(node)
        stack.extend(reversed(list(ast.iter_child_nodes(node))))
    return calls


class CallGraph:
    """Blocking chains of the project's sync functions, memoised for one index."""

    def __init__(self, project: index.ProjectIndex) -> None:
        self.project = project
        self._chains: dict[str, Chain | None] = {}
        self._read: dict[str, frozenset[str]] = {}
        """The files whose source each answer was worked out from (for the cache)."""

    def blocking_chain(self, qualname: str, depth: int = 0) -> Chain | None:
        """How calling the sync project function `qualname` blocks, or None."""
        if qualname in self._chains:
            dependencies.note(self._read.get(qualname, ()))
            return self._chains[qualname]
        self._chains[qualname] = None  # a cycle ends here
        with dependencies.recording() as read:
            chain = self._find(qualname, depth)
        self._chains[qualname] = chain
        self._read[qualname] = frozenset(read)
        return chain

    def _find(self, qualname: str, depth: int) -> Chain | None:
        located = self.project.locate(qualname)
        if located is None or depth > _MAX_DEPTH:
            return None
        module, rest = located
        fact = module.functions.get(rest) or _method_fact(module, rest)
        if fact is None or fact.is_async or fact.opaque or not module.in_project:
            return None
        dependencies.note([module.path])
        tree = _tree(module.path)
        found = None if tree is None else _definition(tree, rest)
        if found is None:
            return None
        function, owner = found
        receiver = _receiver(function) if owner else None
        for call in _own_calls(function):
            callee = self._callee(call, module, owner, receiver, function)
            if callee is None:
                continue
            entry = FUNCTIONS.get(callee)
            if entry is not None and not entry.unless:
                return Chain((qualname,), callee, module.path, call.lineno)
            deeper = self.blocking_chain(callee, depth + 1)
            if deeper is not None:
                return Chain(
                    (qualname, *deeper.functions),
                    deeper.blocking,
                    deeper.path,
                    deeper.line,
                )
        return None

    def _callee(
        self,
        call: ast.Call,
        module: index.ModuleFacts,
        owner: str | None,
        receiver: str | None,
        function: ast.FunctionDef,
    ) -> str | None:
        written = index.dotted(call.func)
        if written is None:
            return None
        head, _, rest = written.partition(".")
        if receiver is not None and head == receiver:
            return f"{module.name}.{owner}.{rest}" if rest and "." not in rest else None
        if head in _parameters(function):
            return None
        if "." not in written and written in _BUILTINS and not _bound(module, written):
            return f"builtins.{written}"
        return index.qualify(written, module)


def _method_fact(module: index.ModuleFacts, rest: str) -> index.FunctionFact | None:
    owner, _, name = rest.partition(".")
    cls = module.classes.get(owner)
    return None if cls is None else cls.methods.get(name)


def _receiver(function: ast.FunctionDef) -> str | None:
    """``self`` of a plain method; None for static and class methods."""
    params = [*function.args.posonlyargs, *function.args.args]
    plain = not any(
        index.dotted(d) in ("staticmethod", "classmethod") for d in function.decorator_list
    )
    return params[0].arg if params and plain else None


def _parameters(function: ast.FunctionDef) -> set[str]:
    args = function.args
    every = [*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg]
    return {arg.arg for arg in every if arg is not None}


def _bound(module: index.ModuleFacts, name: str) -> bool:
    return name in module.imports or name in module.functions or name in module.classes


def for_index(project: index.ProjectIndex) -> CallGraph:
    """The call graph of `project`, kept with that index."""
    return project.shared(CallGraph, lambda: CallGraph(project))
