"""The content cache: index facts and findings of unchanged files, reused across runs.

Entries live in ``.asynclint_cache/`` (:mod:`asynclint.cachedir`: ``--cache-dir``,
``ASYNCLINT_CACHE_DIR`` or the ``cache-dir`` key move it; ``--no-cache`` bypasses it;
``asynclint clean`` removes it), one JSON file per checked file and kind, named after the
file's path, so the folder never holds more than two entries per file. Every entry is
written to a temporary file and renamed into place: concurrent runs never see half an
entry, the last writer wins. An entry that cannot be read or decoded (corrupt, from another
version, foreign) is a miss and is rewritten. Entries are JSON, never pickles: loading a
cache found in a cloned repository runs no code.

**Facts** (the index's first pass) are keyed by the file's content, its module name, the
interpreter and asynclint's own code.

**Findings** of a file are reused only when none of these changed, all folded into the key:

* the file's content and path, its rules and their options (all a check is given);
* asynclint's code (:func:`code_fingerprint`: version and the files of the package, so a
  development checkout never reuses results of code that has since changed), the
  interpreter and LibCST;
* the facts of *every* module in the run: rules see other modules through them (names,
  kinds of functions, classes, lock order);
* the content of every other file the check read (:mod:`asynclint.dependencies`: ASL307
  reads the bodies of the sync functions an ``async def`` calls), stored with the findings;
* the index's settings (search path, configured coroutine functions...) and the modules it
  read lazily outside the checked files (installed packages, the rest of the project):
  their files' size and modification time, and the modules present in their folders and
  in every search path entry, so a newly installed package or a new module next to one
  that was read is noticed (:class:`Environment`). A module present in no such folder
  when the cache was filled and created later elsewhere on the search path (a brand-new
  package folder inside another package) is not: ``asynclint clean`` then.

So an edit that keeps every module's facts (a function's body, a comment) re-checks the
edited file and the files whose checks read it, not every importer; an edit that changes
facts (a new ``async def``, an import) re-checks everything.
"""

from __future__ import annotations

import dataclasses
import enum
import json
import os
import types
import typing
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache, partial
from typing import Any

from asynclint import dependencies, index, pytest_config
from asynclint import source as sources
from asynclint.cachedir import Store, code_fingerprint, digest, modules_in, state
from asynclint.diagnostic import Diagnostic
from asynclint.engine import FileJob, FileResult, check_file

# --- plain data <-> JSON -------------------------------------------------------------------


class _DecodeError(ValueError):
    """Stored data does not fit the type it is read as (an entry of another version)."""


def encode(value: object) -> Any:
    """Dataclasses, enums and containers of them as JSON values (sets sorted)."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, enum.Enum):
        return encode(value.value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: encode(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {str(key): encode(item) for key, item in value.items()}
    if isinstance(value, (set, frozenset)):
        return sorted((encode(item) for item in value), key=repr)
    if isinstance(value, (tuple, list)):
        return [encode(item) for item in value]
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    raise TypeError(f"cannot store a {type(value).__name__}")


Decoder = Callable[[Any], Any]


def decode(kind: Any, data: Any) -> Any:
    """The inverse of :func:`encode` for a value of type `kind` (a type hint)."""
    return _decoder(kind)(data)


@cache
def _decoder(kind: Any) -> Decoder:
    """A function decoding values of type `kind`, built once per type: entries are many."""
    origin, arguments = typing.get_origin(kind), typing.get_args(kind)
    if kind is Any:
        return _same
    if origin is typing.Literal:
        return partial(_literal, frozenset(arguments))
    if origin in (typing.Union, types.UnionType):
        options = [argument for argument in arguments if argument is not type(None)]
        if len(options) != 1:
            raise TypeError(f"cannot read a {kind}")
        return partial(_optional, _decoder(options[0]), type(None) in arguments)
    if isinstance(kind, type) and dataclasses.is_dataclass(kind):
        hints = typing.get_type_hints(kind)
        fields = {f.name: _decoder(hints[f.name]) for f in dataclasses.fields(kind) if f.init}
        return partial(_dataclass, kind, fields)
    if isinstance(kind, type) and issubclass(kind, enum.Enum):
        return partial(_enum, kind)
    if origin in (dict, Mapping):
        return partial(_mapping, _decoder(arguments[1]))
    if origin is tuple and not (len(arguments) == 2 and arguments[1] is Ellipsis):
        return partial(_fixed_tuple, tuple(map(_decoder, arguments)))
    if origin in (list, tuple, set, frozenset, Sequence):
        build: Callable[[list[Any]], Any] = list if origin is Sequence else origin
        return partial(_sequence, _decoder(arguments[0]), build)
    if kind in (bool, int, float, str):
        return partial(_scalar, kind)
    raise TypeError(f"cannot read a {kind}")


def _same(data: Any) -> Any:
    return data


def _optional(inner: Decoder, nullable: bool, data: Any) -> Any:
    return None if data is None and nullable else inner(data)


def _dataclass(kind: type, fields: Mapping[str, Decoder], data: Any) -> Any:
    if not isinstance(data, dict) or not data.keys() <= fields.keys():
        raise _DecodeError(f"not a {kind.__name__}")
    return kind(**{name: fields[name](value) for name, value in data.items()})


def _literal(values: frozenset[object], data: Any) -> Any:
    if data not in values:
        raise _DecodeError(f"not one of {sorted(map(repr, values))}")
    return data


def _enum(kind: type[enum.Enum], data: Any) -> Any:
    try:
        return kind(data)
    except ValueError as error:
        raise _DecodeError(str(error)) from None


def _mapping(item: Decoder, data: Any) -> Any:
    if not isinstance(data, dict):
        raise _DecodeError("expected an object")
    return {key: item(value) for key, value in data.items()}


def _fixed_tuple(items: tuple[Decoder, ...], data: Any) -> Any:
    if not isinstance(data, list) or len(data) != len(items):
        raise _DecodeError(f"expected an array of {len(items)}")
    return tuple(item(value) for item, value in zip(items, data, strict=True))


def _sequence(item: Decoder, build: Callable[[list[Any]], Any], data: Any) -> Any:
    if not isinstance(data, list):
        raise _DecodeError("expected an array")
    return build([item(value) for value in data])


def _scalar(kind: type, data: Any) -> Any:
    if type(data) is kind:
        return data
    if kind is float and type(data) is int:
        return float(data)
    raise _DecodeError(f"expected {kind.__name__}")


def canonical(value: object) -> str:
    """A deterministic JSON text of `value`; what cannot be stored is spelled by ``repr``."""
    return json.dumps(_plain(value), sort_keys=True, separators=(",", ":"))


def _plain(value: object) -> Any:
    try:
        return encode(value)
    except TypeError:
        if isinstance(value, Mapping):
            return {str(key): _plain(item) for key, item in value.items()}
        if isinstance(value, (tuple, list)):
            return [_plain(item) for item in value]
        return repr(value)


# --- what a cached result depends on beyond its own file -------------------------------------


@dataclass
class Environment:
    """What the index read outside the checked files (installed packages, the rest of the
    project), remembered from run to run: each file's state when it was read, and the
    modules present in its folder and in every search path entry.

    Findings are keyed by :attr:`generation`, which is new whenever any of this is found
    changed (everything is then recorded afresh). A file read for the first time joins the
    record without a new generation: the findings stored by the run that read it stay
    valid as long as it does not change."""

    generation: str = ""
    files: dict[str, str] = field(default_factory=dict)
    """Path → state (:func:`state`)."""
    folders: dict[str, str] = field(default_factory=dict)
    """Folder → the names of the modules in it."""

    def current(self, search_path: Sequence[str]) -> Environment:
        """This record when nothing in it changed; else a fresh one, of a new generation."""
        files = {path: state(path) for path in self.files}
        folders = {folder: modules_in(folder) for folder in {*self.folders, *search_path}}
        if self.generation and files == self.files and folders == self.folders:
            return self
        return Environment(uuid.uuid4().hex, files, folders)

    def add(self, read: Mapping[str, str]) -> bool:
        """Record files read for the first time (path → state when read), with their
        folders; True when there was any."""
        new = {path: seen for path, seen in read.items() if path not in self.files}
        self.files.update(new)
        for folder in {os.path.dirname(path) for path in new} - set(self.folders):
            self.folders[folder] = modules_in(folder)
        return bool(new)


@dataclass(frozen=True)
class Indexed:
    """One checked module as the index pass saw it."""

    facts: index.ModuleFacts | None
    content: str
    """Digest of the file's bytes; empty when it could not be read."""
    facts_key: str
    """Digest of the facts (the same facts give the same key)."""
    findings: Mapping[str, Any] | None = None
    """The file's stored findings entry, read with the facts, for the parent to compare
    with the key it computes once the index is complete."""
    outline: index.Outline | None = None
    """When the facts were worked out in this run (never stored)."""


def _recorded_environment(store: Store) -> Environment:
    entry = store.read(".", "environment", code_fingerprint())
    try:
        found = decode(Environment, entry["environment"]) if entry else Environment()
    except (_DecodeError, KeyError, TypeError):
        found = Environment()
    assert isinstance(found, Environment)
    return found


def _save_environment(store: Store, environment: Environment) -> None:
    entry = {"key": code_fingerprint(), "environment": encode(environment)}
    store.write(".", "environment", entry)


# --- the index pass ---------------------------------------------------------------------------


def index_module(path: str, store: Store) -> Indexed:
    """One checked module's facts, from the cache when its content is unchanged."""
    return _index(path, store, compute=True) or Indexed(None, "", digest("unreadable"))


def cached_module(path: str, store: Store) -> Indexed | None:
    """One checked module's facts when the cache has them; None when they must be worked
    out (:func:`index_module`). Reading an entry costs a fraction of a worker's round trip."""
    return _index(path, store, compute=False)


def _index(path: str, store: Store, compute: bool) -> Indexed | None:
    try:
        with open(path, "rb") as file:
            data = file.read()
    except OSError:
        return Indexed(None, "", digest("unreadable"))
    content = digest(data)
    name = index.module_name(path)
    key = digest(code_fingerprint(), path, name, content)
    entry = store.read("facts", path, key)
    if entry is None and not compute:
        return None
    findings = store.load("results", _entry_name(path))
    if entry is not None:
        try:
            return Indexed(
                decode(index.ModuleFacts | None, entry["facts"]),
                content,
                str(entry["facts_key"]),
                findings,
            )
        except (_DecodeError, KeyError, TypeError):
            if not compute:
                return None
    facts, outline = index.first_pass_of(data, path, name)
    stored = encode(facts)
    facts_key = digest(json.dumps(stored, sort_keys=True))
    store.write("facts", path, {"key": key, "facts": stored, "facts_key": facts_key})
    return Indexed(facts, content, facts_key, findings, outline)


# --- a run ---------------------------------------------------------------------------------


class Session:
    """The parent's side of one run: what the index pass saw, the keys it leads to, and the
    modules the workers read lazily."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.indexed: dict[str, Indexed] = {}
        self.loaded: dict[str, str] = {}
        """Files the workers' index read lazily: path → state when read."""
        self.environment = Environment()
        self._changed = False
        self._contents: dict[str, str] | None = None

    def keys(self, project: index.ProjectIndex) -> dict[str, str]:
        """For each indexed path, the part of its findings' key that is not the file's own."""
        facts = digest(*(f"{p}:{e.facts_key}" for p, e in sorted(self.indexed.items())))
        settings = {
            key: value
            for key, value in vars(project).items()
            if key != "modules" and not key.startswith("_")  # what it found, not settings
        }
        recorded = _recorded_environment(self.store)
        self.environment = recorded.current(project.search_path)
        self._changed = self.environment is not recorded
        generation = self.environment.generation
        run = digest(code_fingerprint(), facts, generation, canonical(settings))
        return dict.fromkeys(self.indexed, run)

    def reuse(self, job: FileJob) -> FileResult | None:
        """The stored findings of `job` when its file has not changed since the index pass
        read it: unchanged files need no worker at all."""
        indexed = self.indexed.get(job.path)
        if not _cacheable(job) or indexed is None or indexed.findings is None:
            return None
        if indexed.findings["key"] != result_key(job, indexed.content):
            return None
        if not _reads_unchanged(indexed.findings, self._content):
            return None
        return _reused(job, indexed.findings, None)

    def _content(self, path: str) -> str:
        """The digest of `path` (absolute) as the index pass read it, else as it is now."""
        if self._contents is None:
            self._contents = {os.path.abspath(p): e.content for p, e in self.indexed.items()}
        known = self._contents.get(path)
        return _content_now(path) if known is None else known

    def checked_files(self) -> frozenset[str]:
        return frozenset(os.path.abspath(path) for path in self.indexed)

    def finish(self) -> None:
        """Record what the workers read lazily (:attr:`loaded`, path → state)."""
        if self.environment.add(self.loaded) or self._changed:
            _save_environment(self.store, self.environment)


_current: Session | None = None


def start(store: Store) -> Session:
    """Make a session current: :func:`asynclint.parallel.build_index` records into it."""
    global _current
    _pytest_inputs.cache_clear()
    _current = Session(store)
    return _current


def current() -> Session | None:
    return _current


def stop() -> None:
    global _current
    _current = None


# --- findings ------------------------------------------------------------------------------


def result_key(job: FileJob, content: str) -> str:
    """The key of `job`'s findings when the file's bytes have the digest `content`."""
    return digest(
        job.cache_key,
        job.path,
        content,
        *sorted(job.codes),
        _options(job.options),
        _pytest_inputs(os.path.dirname(os.path.abspath(job.path))),
    )


@cache
def _pytest_inputs(directory: str) -> str:
    """The pytest configuration and ``conftest.py`` files the test rules read for the files
    of `directory` (their state) and the folders they were looked for in: switching
    ``asyncio_mode`` or adding a conftest changes the findings of files that did not change."""
    inputs = pytest_config.inputs_for(os.path.join(directory, "_"))
    return digest(*(path if os.path.isdir(path) else f"{path}:{state(path)}" for path in inputs))


_canonical_options: dict[int, tuple[object, str]] = {}


def _options(options: object) -> str:
    """:func:`canonical` of rule options, once per object (files of a folder share it)."""
    known = _canonical_options.get(id(options))
    if known is None or known[0] is not options:
        known = _canonical_options[id(options)] = (options, canonical(options))
    return known[1]


def _entry_name(path: str) -> str:
    """Entries of findings are per path as given (it is in every finding) and file."""
    return f"{os.path.abspath(path)}\0{path}"


def _reused(job: FileJob, entry: Mapping[str, Any], data: bytes | None) -> FileResult | None:
    """The findings stored in `entry`, with the text the snippets need."""
    try:
        diagnostics = [decode(Diagnostic, item) for item in entry["diagnostics"]]
    except (_DecodeError, TypeError, KeyError):
        return None
    text = None
    if diagnostics:
        try:
            source = sources.read(job.path) if data is None else sources.decode(data)
        except OSError:
            return None
        text = source.text if isinstance(source, sources.Source) else None
    return FileResult(job.path, diagnostics, text)


def _reads_unchanged(entry: Mapping[str, Any], content: Callable[[str], str]) -> bool:
    """Whether every other file the stored check read still has the content it had."""
    reads = entry.get("reads", {})
    return isinstance(reads, dict) and all(content(path) == seen for path, seen in reads.items())


def _content_now(path: str) -> str:
    """The digest of a file's bytes now; ``-`` when it cannot be read."""
    try:
        with open(path, "rb") as file:
            return digest(file.read())
    except OSError:
        return "-"


def _cacheable(job: FileJob) -> bool:
    return bool(job.cache_key) and job.data is None and job.fix is None


def check(job: FileJob, store: Store) -> FileResult:
    """Check one file in a worker and store its findings, keyed by the bytes it read."""
    if not _cacheable(job):
        return check_file(job)
    try:
        with open(job.path, "rb") as file:
            data = file.read()
    except OSError:
        return check_file(job)
    key = result_key(job, digest(data))
    entry = store.read("results", _entry_name(job.path), key)
    if entry is not None and _reads_unchanged(entry, _content_now):
        reused = _reused(job, entry, data)
        if reused is not None:
            return reused
    with dependencies.recording() as read:
        result = check_file(dataclasses.replace(job, data=data))
    if result.error is None:
        found = [encode(diagnostic) for diagnostic in result.diagnostics]
        own = os.path.abspath(job.path)
        reads = {p: _content_now(p) for p in sorted(map(os.path.abspath, read)) if p != own}
        entry = {"key": key, "diagnostics": found, "reads": reads}
        store.write("results", _entry_name(job.path), entry)
    return result
