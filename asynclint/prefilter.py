"""Which selected rules can fire in a file at all, decided before LibCST parses it.

Most of a project's files cannot produce a finding: on the benchmark corpus about half have
no ``async``/``await`` and use nothing asynchronous. A LibCST parse and a pass cost about 20
times what this check costs, so it runs first, and a file is parsed only for the rules it
leaves. It is conservative: when unsure it keeps the rules.

* An ``async_only`` rule can only fire in async code, which a file without the words
  ``async`` and ``await`` (anywhere, comments and strings included) does not have.
* Any other rule needs a link to something asynchronous that the file *names*: the last
  name of every access chain is spelled in the source (``mod.Store().save()`` spells
  ``save``). From each name the file imports (anywhere in it, resolved through re-exports by
  the project index, as the rules resolve it), the check follows only names the file
  spells: module members, submodules, class bases, attributes and methods. A link is
  found when that reaches a qualified name any of asynclint's data tables mention (the
  knowledge tables, lock classes, ...: every dotted name in the module-level data of
  ``asynclint``, its inert data left out, see :mod:`asynclint.knowledge`), a function or
  method the index marks (any fact besides its decorators: ``async def``, a helper that
  returns a task, ...), a class of the async protocol (``__aenter__``, ``__aiter__``,
  ``__await__``... of any kind) or with a marked special method (used without being
  spelled), module or class facts the check does not know, or a name matching a
  configured glob (``extra-coroutine-functions``, rule options). A bare name that stands
  for a qualified one without any import (a pytest fixture named ``loop`` or ``mocker``: a
  data-table key mapping a plain name to a qualified one) is followed, as if imported,
  where a function has a parameter of that name; so is every dotted name in quotes
  (``patch("pkg.store.save")`` resolves its target).
  Builtins give no link: no builtin makes a coroutine or a task, and the tables name
  builtins only for what they do in async code.
* A rule whose findings are all about one of a few names (:attr:`Rule.spelled`: the hooks
  it checks, the assertions it flags) is dropped where none of them is spelled.
* A file ``ast`` cannot parse keeps its rules (LibCST may accept newer syntax).

With no rule left, :mod:`asynclint.engine` still reports ``ASL900`` without LibCST when the
parse guard refuses the file; a file CPython's parser accepts and the guard admits is taken
to be one LibCST parses.
"""

from __future__ import annotations

import ast
import dataclasses
import enum
import fnmatch
import itertools
import os
import re
import sys
import types
from collections.abc import Iterable, Iterator, Mapping, Sequence
from functools import cache
from typing import Any, TypeGuard

from asynclint import index, knowledge
from asynclint import source as sources
from asynclint.rule import Rule
from asynclint.syntax import has_async, spells_word

_WORD = re.compile(r"[^\W\d]\w*")
_DOTTED = re.compile(r"[^\W\d]\w*(?:\.[^\W\d]\w*)+")
_QUOTED_DOTTED = re.compile(r"['\"]([^\W\d]\w*(?:\.[^\W\d]\w*)+)['\"]")
_MODULE_FIELDS = frozenset(
    ["name", "path", "in_project", "functions", "classes", "imports", "lock_pairs"]
)
"""Module facts the link check reads or may ignore (``lock_pairs`` are read only by
``async_only`` rules); any other non-empty fact links (unknown meaning)."""
_OWN_RULES = "asynclint.rules."
_CLASS_FIELDS = frozenset(["bases", "methods", "attributes"])
_NEUTRAL_FUNCTION_FIELDS = frozenset(["decorators", "returns"])
"""Decorators link only when they make the call return a coroutine, and the returned class
when it links itself (:meth:`_Linker._links`)."""
_EFFECT_FIELDS = frozenset(["as_decorator", "as_factory"])
"""What a function does as a decorator links only when the calls it wraps return
coroutines: a decorator that keeps their kind, or runs them to completion, makes nothing
asynchronous in code that decorates sync functions with it."""
_NEUTRAL_CONFIGURATION = frozenset(["transparent_decorators", "sync_decorators"])
_ASYNC_PROTOCOL = frozenset(["__aenter__", "__aexit__", "__aiter__", "__anext__", "__await__"])
"""Special methods that make a class usable by ``async with``/``async for``/``await``: code
that uses such a class the sync way (``with pool:``) spells none of them."""


def applicable(
    rules: Sequence[type[Rule]],
    text: str,
    path: str,
    options: Mapping[str, Mapping[str, Any]],
) -> list[type[Rule]]:
    """The rules of `rules` that can fire in `text` (the file at `path`). Rules defined
    outside asynclint's rule package (plugins, tests) are always kept: nothing vouches that
    they need anything asynchronous."""
    rules = [rule for rule in rules if not rule.spelled or _spells(rule.spelled, text)]
    if not rules or has_async(text):
        return rules
    foreign = [rule for rule in rules if not rule.__module__.startswith(_OWN_RULES)]
    sync_rules = [rule for rule in rules if not rule.async_only and rule not in foreign]
    if not sync_rules:
        return foreign
    globs = [value for rule in sync_rules for value in _strings(options.get(rule.code, {}))]
    linked = _linker(index.active()).links(text, path, globs)
    return [rule for rule in rules if rule in foreign or (linked and rule in sync_rules)]


def _spells(names: frozenset[str], text: str) -> bool:
    """One of `names` is a word of `text`."""
    return any(spells_word(text, name) for name in names)


def admitted(text: str, path: str) -> bool:
    """CPython's parser accepts `text` (the file at `path`: the first pass parsed it, or
    parses now) and LibCST's parse guard would let it through."""
    if len(text) > sources.MAX_CHARS:
        return False
    if index.active().outline(path, text) is None and index.syntax_tree(text) is None:
        return False
    return sources._scan(text).problem is None


# --- what asynclint's data mentions ---------------------------------------------------


@dataclasses.dataclass(frozen=True)
class _Knowledge:
    qualified: frozenset[str]
    """Every dotted name in the data (``asyncio.create_task``), builtins left out."""
    below: Mapping[str, frozenset[str]]
    """Each proper prefix of those names → the last names under it (``asyncio`` → ...)."""
    bare_names: Mapping[str, frozenset[str]]
    """Plain names mapped to qualified ones by a table (fixture ``loop``)."""

    def mentions(self, name: str) -> bool:
        """`name` or one of its prefixes is a name of the data."""
        while name:
            if name in self.qualified:
                return True
            name = name.rpartition(".")[0]
        return False


def _strings(value: object, depth: int = 0) -> Iterator[str]:
    """Every string inside plain data (keys and members of containers, dataclass fields),
    inert data left out."""
    if depth > 8 or knowledge.is_inert(value):
        return
    if isinstance(value, str):
        yield value
    elif isinstance(value, enum.Enum):
        yield from _strings(value.value, depth + 1)
    elif isinstance(value, Mapping):
        for key, item in value.items():
            yield from _strings(key, depth + 1)
            yield from _strings(item, depth + 1)
    elif isinstance(value, (tuple, list, set, frozenset)):
        for item in value:
            yield from _strings(item, depth + 1)
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        for data_field in dataclasses.fields(value):
            yield from _strings(getattr(value, data_field.name), depth + 1)


def _data_modules() -> list[types.ModuleType]:
    """asynclint's loaded modules but the runtime sanitizer's (rules import their tables)."""
    return [
        module
        for name, module in list(sys.modules.items())
        if (name == "asynclint" or name.startswith("asynclint."))
        and not name.startswith("asynclint.sanitizer")
    ]


def _module_data(module: types.ModuleType) -> Iterator[object]:
    """A module's data: its globals but classes, modules, functions and inert data."""
    for name, value in vars(module).items():
        if name.startswith("__") or isinstance(value, (type, types.ModuleType)):
            continue
        if knowledge.is_inert(value):
            continue
        if isinstance(value, Mapping) or not callable(value):
            yield value


def _names_bare(data: object) -> TypeGuard[Mapping[str, str]]:
    """`data` maps plain names to qualified ones (``{"loop": "asyncio.AbstractEventLoop"}``):
    names code uses without importing them. Its values are what the names stand for, not
    names code spells."""
    return (
        isinstance(data, Mapping)
        and bool(data)
        and all(
            isinstance(key, str)
            and _WORD.fullmatch(key)
            and isinstance(target, str)
            and _DOTTED.fullmatch(target)
            for key, target in data.items()
        )
    )


@cache
def _knowledge(modules: frozenset[str]) -> _Knowledge:
    """Built from the modules loaded so far (`modules` keys the cache: rules load lazily)."""
    qualified: set[str] = set()
    bare_names: dict[str, set[str]] = {}
    for module in _data_modules():
        for data in _module_data(module):
            if _names_bare(data):
                for key, target in data.items():
                    bare_names.setdefault(key, set()).add(target)
                continue
            qualified.update(
                text
                for text in _strings(data)
                if _DOTTED.fullmatch(text) and not text.startswith("builtins.")
            )
    below: dict[str, set[str]] = {}
    for name in qualified:
        parts = name.split(".")
        for cut in range(1, len(parts)):
            below.setdefault(".".join(parts[:cut]), set()).add(parts[-1])
    return _Knowledge(
        frozenset(qualified),
        {prefix: frozenset(last) for prefix, last in below.items()},
        {name: frozenset(targets) for name, targets in bare_names.items()},
    )


# --- following the index ----------------------------------------------------------------


def _positive(fact: object) -> bool:
    """A function fact that says more than "a plain function" (decorators aside)."""
    assert dataclasses.is_dataclass(fact)
    for data_field in dataclasses.fields(fact):
        if data_field.name in _NEUTRAL_FUNCTION_FIELDS:
            continue
        value = getattr(fact, data_field.name)
        if data_field.name in _EFFECT_FIELDS:
            if value == "async":
                return True
            continue
        if data_field.default is not dataclasses.MISSING:
            default = data_field.default
        elif data_field.default_factory is not dataclasses.MISSING:
            default = data_field.default_factory()
        else:
            default = False
        if value != default:
            return True
    return False


def _unknown_facts(facts: object, known: frozenset[str]) -> bool:
    """A fact the link check cannot interpret is set: assume it links."""
    assert dataclasses.is_dataclass(facts)
    return any(
        bool(getattr(facts, f.name)) for f in dataclasses.fields(facts) if f.name not in known
    )


class _Linker:
    """Link checks against one project index (memoised per process and index)."""

    def __init__(self, project: index.ProjectIndex) -> None:
        self.project = project
        self.knowledge = _knowledge(frozenset(sys.modules))
        self._resolved: dict[str, str] = {}
        self._listings: dict[str, frozenset[str]] = {}
        self._children: dict[str, set[str]] = {}
        """Package name → the names of the indexed modules right inside it."""
        self._counted = 0
        """How many of the index's modules `_children` holds (modules are only added)."""

    def links(self, text: str, path: str, globs: Iterable[str]) -> bool:
        outline = self.project.outline(path, text)
        tree = None if outline is not None else index.syntax_tree(text)
        if outline is None and tree is None:
            return True
        words = frozenset(_WORD.findall(text))
        if any(_glob_matches(glob, words) for glob in [*self._configured(), *globs]):
            return True
        if outline is not None:
            reached: Iterable[str] = outline.reached
        else:
            assert tree is not None
            module = index.module_name(path)
            is_package = os.path.basename(path) == "__init__.py"
            reached = index.reached_by_imports(tree, module, is_package)
        bare = self.knowledge.bare_names
        starts = itertools.chain(
            reached,
            (target for name in _parameters(text, words & bare.keys()) for target in bare[name]),
            _QUOTED_DOTTED.findall(text),
        )
        return any(self.reaches(start, words) for start in starts)

    def _configured(self) -> Iterator[str]:
        """Globs of the configuration that name things rules take as asynchronous."""
        configured = getattr(self.project, "configured", None)
        if dataclasses.is_dataclass(configured):
            for data_field in dataclasses.fields(configured):
                if data_field.name not in _NEUTRAL_CONFIGURATION:
                    yield from _strings(getattr(configured, data_field.name))

    def reaches(self, name: str, words: frozenset[str]) -> bool:
        """Whether something asynchronous is reachable from `name` through `words`."""
        seen: set[str] = set()
        pending = [name]
        while pending:
            current = pending.pop()
            if current in seen:
                continue
            seen.add(current)
            if self.knowledge.mentions(current):
                return True
            if not words.isdisjoint(self.knowledge.below.get(current, ())):
                return True
            resolved = self._resolve(current)
            if resolved != current:
                pending.append(resolved)
            elif self._step(current, words, pending):
                return True
        return False

    def _resolve(self, name: str) -> str:
        found = self._resolved.get(name)
        if found is None:
            found = self._resolved[name] = self.project.resolve(name)
        return found

    def _step(self, name: str, words: frozenset[str], pending: list[str]) -> bool:
        """Whether `name` links by itself; pushes what it leads to through `words`."""
        module = self.project._module(name)
        if module is not None:
            return self._module_step(module, words, pending)
        found = self.project.class_fact(name)
        if found is not None:
            return self._class_step(found[1], words, pending)
        fact = self.project.function(name)
        return fact is not None and self._links(fact, pending)

    def _links(self, fact: index.FunctionFact, pending: list[str]) -> bool:
        """A function fact that says more than "a plain function": its own facts, or
        decorators that make calling it return a coroutine. The class it says it returns
        is followed (rules learn the type of a call's result from it, nothing else)."""
        if fact.returns is not None and fact.returns != index.SELF:
            pending.append(fact.returns)
        return _positive(fact) or (bool(fact.decorators) and self.project.call_kind(fact) is True)

    def _module_step(
        self, module: index.ModuleFacts, words: frozenset[str], pending: list[str]
    ) -> bool:
        if _unknown_facts(module, _MODULE_FIELDS):
            return True
        if any(self._links(f, pending) for n, f in module.functions.items() if n in words):
            return True
        pending.extend(f"{module.name}.{n}" for n in module.classes if n in words)
        pending.extend(target for local, target in module.imports.items() if local in words)
        pending.extend(f"{module.name}.{n}" for n in self._submodules(module) & words)
        return False

    def _class_step(self, fact: index.ClassFact, words: frozenset[str], pending: list[str]) -> bool:
        if _unknown_facts(fact, _CLASS_FIELDS):
            return True
        for name, method in fact.methods.items():
            if name in _ASYNC_PROTOCOL or (
                (name in words or _dunder(name)) and self._links(method, pending)
            ):
                return True
        pending.extend(fact.bases)
        pending.extend(kind for name, kind in fact.attributes.items() if name in words)
        return False

    def _submodules(self, module: index.ModuleFacts) -> frozenset[str]:
        """Names of the modules inside a package: indexed ones and those on disk."""
        found = set(self._indexed_children(module.name))
        path = getattr(module, "path", "")
        if os.path.splitext(os.path.basename(path))[0] == "__init__":
            found |= self._listing(os.path.dirname(path))
        return frozenset(found)

    def _indexed_children(self, package: str) -> set[str]:
        """The indexed modules right inside `package` (``a.b.c`` makes ``b`` a child of
        ``a`` and ``c`` one of ``a.b``), counting the modules read lazily since last asked."""
        modules = self.project.modules
        if len(modules) != self._counted:
            for name in itertools.islice(modules, self._counted, None):
                parts = name.split(".")
                for cut in range(1, len(parts)):
                    self._children.setdefault(".".join(parts[:cut]), set()).add(parts[cut])
            self._counted = len(modules)
        return self._children.get(package, set())

    def _listing(self, directory: str) -> frozenset[str]:
        """Names of the modules a folder may hold (``__init__`` is its package itself)."""
        found = self._listings.get(directory)
        if found is None:
            try:
                entries = os.listdir(directory)
            except OSError:
                entries = []
            stems = (os.path.splitext(entry)[0] for entry in entries)
            found = frozenset(s for s in stems if s.isidentifier() and s != "__init__")
            self._listings[directory] = found
        return found


def _parameters(text: str, names: Iterable[str]) -> Iterator[str]:
    """The `names` that name a parameter in `text`, which parses (pytest injects fixtures
    by parameter name). The tree is walked only when one of them is spelled."""
    wanted = set(names)
    tree = index.syntax_tree(text) if wanted else None
    if tree is not None:
        yield from wanted & {node.arg for node in ast.walk(tree) if isinstance(node, ast.arg)}


def _dunder(name: str) -> bool:
    return name.startswith("__") and name.endswith("__")


def _glob_matches(glob: str, words: frozenset[str]) -> bool:
    """Could `words` spell the last name of something matching `glob`? ``*`` spans dots, so
    a ``*`` in the last part matches any last name."""
    last = glob.rpartition(".")[2]
    if "*" in last:
        return True
    if "?" in last or "[" in last:
        return any(fnmatch.fnmatchcase(word, last) for word in words)
    return last in words


def _linker(project: index.ProjectIndex) -> _Linker:
    """One linker per index object (the CLI sets one per run; tests set several)."""
    return project.shared(_Linker, lambda: _Linker(project))
