"""Cross-module coroutine resolution through the project index, on a small real project
(package, sub-package, re-exports, relative imports, a `src/` layout and a test folder)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import libcst as cst
import pytest

from asynclint import index
from asynclint.callables import returns_coroutine
from asynclint.engine import analyse, source_lines
from asynclint.knowledge.configured import Configured
from asynclint.rule import Rule
from tests.conftest import ROOT, RunCli

PROJECT = ROOT / "tests" / "data" / "project"
MARK = re.compile(r"# coroutine: (True|False|None)")


class Probe(Rule):
    """Reports what `returns_coroutine` answers for every call statement."""

    code = "ASL999"
    name = "probe"
    message = "{answer}"

    def visit_Expr(self, node: cst.Expr) -> None:
        if isinstance(node.value, cst.Call):
            self.report(node, answer=str(returns_coroutine(self.context, node.value.func)))


def python_files() -> list[str]:
    return sorted(str(path) for path in PROJECT.rglob("*.py"))


@pytest.fixture
def project_index() -> Iterator[index.ProjectIndex]:
    built = index.build(python_files())
    previous = index.active()
    index.set_active(built)
    yield built
    index.set_active(previous)


def test_module_names_follow_packages() -> None:
    assert index.module_name(str(PROJECT / "src/shop/api/client.py")) == "shop.api.client"
    assert index.module_name(str(PROJECT / "src/shop/__init__.py")) == "shop"
    assert index.module_name(str(PROJECT / "tests/test_service.py")) == "test_service"


def test_reexports_and_relative_imports_resolve(project_index: index.ProjectIndex) -> None:
    assert project_index.resolve("shop.Client") == "shop.api.client.AsyncClient"
    assert project_index.resolve("shop.Store.fetch") == "shop.store.Store.fetch"
    fetch = project_index.function("shop.Store.fetch")
    assert fetch is not None and fetch.is_async
    inherited = project_index.method("shop.store.CachedStore", "fetch")
    assert inherited is not None and inherited.is_async
    assert project_index.method("shop.store.CachedStore", "missing") is None
    assert project_index.attribute_class("shop.service.Service", "client") == "shop.Client"


@pytest.mark.parametrize("relative", ["src/shop/service.py", "tests/test_service.py"])
def test_calls_are_classified_as_marked(project_index: index.ProjectIndex, relative: str) -> None:
    path = PROJECT / relative
    text = path.read_text()
    module = cst.parse_module(text)
    found = {d.line: d.message for d in analyse(module, str(path), [Probe], {}, [])}
    expected = {
        number: match.group(1)
        for number, line in enumerate(source_lines(text), start=1)
        if (match := MARK.search(line))
    }
    assert found == expected


def test_unparseable_files_are_skipped(tmp_path: Path) -> None:
    (tmp_path / "bad.py").write_text("def (:\n")
    assert index.facts_for(str(tmp_path / "bad.py")) is None


def test_installed_packages_are_read_lazily_never_imported(tmp_path: Path) -> None:
    site = tmp_path / "site"
    (site / "extlib").mkdir(parents=True)
    (site / "extlib" / "__init__.py").write_text(
        "raise SystemExit('must never be imported')\nfrom .client import Client\n"
    )
    (site / "extlib" / "client.py").write_text(
        "class Client:\n    async def close(self): ...\n    def closed(self): ...\n"
    )
    (site / "extlib" / "client.pyi").write_text(
        "class Client:\n    async def close(self) -> None: ...\n    def closed(self) -> bool: ...\n"
    )
    project = index.ProjectIndex(search_path=[str(site)])
    close = project.function("extlib.Client.close")
    closed = project.function("extlib.Client.closed")
    assert close is not None and close.is_async
    assert closed is not None and not closed.is_async
    assert project.function("extlib.Client.missing") is None
    assert "extlib.client" in project.modules


def test_a_module_comes_from_the_first_search_path_entry_that_has_it(tmp_path: Path) -> None:
    entries = [tmp_path / f"entry{number}" for number in range(5)]
    for entry in entries:
        (entry / "unrelated").mkdir(parents=True)
    (entries[1] / "tools.py").write_text("async def run(): ...\n")
    (entries[2] / "tools.py").write_text("def run(): ...\n")
    (entries[2] / "kit").mkdir()
    (entries[2] / "kit" / "__init__.py").write_text("")
    (entries[2] / "kit" / "parts.py").write_text("async def make(): ...\n")
    (entries[3] / "kit" / "parts.pyi").parent.mkdir()
    (entries[3] / "kit" / "parts.pyi").write_text("def make() -> None: ...\n")
    (entries[4] / "typed.py").write_text("def get(): ...\n")
    (entries[4] / "typed.pyi").write_text("async def get() -> None: ...\n")
    (entries[0] / "kit").mkdir()  # another package of that name, without the module
    (entries[0] / "kit" / "other.py").write_text("")
    (entries[4] / "stubbed.pyi").write_text("async def only() -> None: ...\n")
    project = index.ProjectIndex()
    project.search_path = [str(entry) for entry in entries]
    names = ("tools.run", "kit.parts.make", "typed.get", "stubbed.only")
    found = {name: project.function(name) for name in names}
    assert {name: fact is not None and fact.is_async for name, fact in found.items()} == {
        "tools.run": True,  # entry 1, before entry 2's
        "kit.parts.make": True,  # entry 2, before entry 3's stub
        "typed.get": True,  # the stub, before the source beside it
        "stubbed.only": True,
    }


def test_standard_library_methods_come_from_its_source() -> None:
    project = index.ProjectIndex(search_path=index.installed_search_path())
    acquire = project.method("asyncio.locks.Lock", "acquire")
    release = project.method("asyncio.locks.Lock", "release")
    assert acquire is not None and acquire.is_async
    assert release is not None and not release.is_async


def test_project_task_helpers_feed_asl102_through_the_cli(run_cli: RunCli) -> None:
    done = run_cli("check", "--isolated", "--select", "ASL102", "--format", "json", str(PROJECT))
    found = [(Path(d["path"]).name, d["line"], d["message"]) for d in json.loads(done.stdout)]
    assert found == [
        ("service.py", 26, "`spawn(...)` result is discarded; " + GC),
        ("service.py", 28, "`runner.start(...)` result is discarded; " + GC),
        ("service.py", 30, "`store.spawn(...)` result is discarded; " + GC),
    ]
    assert done.returncode == 1


GC = "the task can be garbage-collected before it finishes"


DECORATORS = """
import asyncio
import functools
from functools import wraps

def to_async(func):
    @functools.wraps(func)
    async def wrapper(*args, **kwargs):
        return func(*args, **kwargs)
    return wrapper

def logged(func):
    @wraps(func)
    def wrapper(*args, **kwargs):
        return func(*args, **kwargs)
    return wrapper

def register(func):
    return func

def blocking(func):
    def wrapper(*args, **kwargs):
        return asyncio.run(func(*args, **kwargs))
    return wrapper

def in_loop(func):
    def wrapper(*args, **kwargs):
        loop = asyncio.new_event_loop()
        return loop.run_until_complete(func(*args, **kwargs))
    return wrapper

def retry(times):
    def decorator(func):
        async def wrapper(*args, **kwargs):
            return await func(*args, **kwargs)
        return wrapper
    return decorator

def swallow(func):
    def wrapper(*args, **kwargs):
        func(*args, **kwargs)
    return wrapper

def either(func):
    if asyncio.iscoroutinefunction(func):
        async def wrapper(*args, **kwargs):
            return await func(*args, **kwargs)
    else:
        def wrapper(*args, **kwargs):
            return func(*args, **kwargs)
    return wrapper

def stream(func):
    async def wrapper(*args, **kwargs):
        yield await func(*args, **kwargs)
    return wrapper

def unwrap(func):
    return getattr(func, "__wrapped__", func)

async def not_a_decorator(func):
    return func
"""


def test_decorators_are_read_from_what_they_return(tmp_path: Path) -> None:
    (tmp_path / "deco.py").write_text(DECORATORS)
    facts = index.facts_for(str(tmp_path / "deco.py"))
    assert facts is not None
    effects = {name: (f.as_decorator, f.as_factory) for name, f in facts.functions.items()}
    assert effects == {
        "to_async": ("async", None),
        "logged": ("same", None),
        "register": ("same", None),
        "blocking": ("sync", None),
        "in_loop": ("sync", None),
        "retry": (None, "async"),
        "swallow": (None, None),
        "either": (None, None),
        "stream": (None, None),
        "unwrap": (None, None),
        "not_a_decorator": (None, None),
    }


@pytest.mark.parametrize(
    ("decorators", "is_async", "kind"),
    [
        (["deco.to_async"], False, True),
        (["deco.logged"], True, True),
        (["deco.logged"], False, False),
        (["deco.register", "deco.logged"], True, True),
        (["deco.blocking"], True, False),
        (["deco.retry()"], True, True),
        (["deco.retry"], True, None),  # a factory used bare
        (["deco.to_async()"], False, None),  # a plain decorator called
        (["deco.logged", "deco.swallow"], True, None),
        (["deco.to_async", "deco.swallow"], False, True),  # the outermost decides
        (["deco.missing"], True, None),
        (["?"], True, None),
        ([None], True, None),
    ],
)
def test_decorated_call_kind(
    tmp_path: Path, decorators: list[str | None], is_async: bool, kind: bool | None
) -> None:
    (tmp_path / "deco.py").write_text(DECORATORS)
    project = index.build([str(tmp_path / "deco.py")])
    assert project.decorated_kind(is_async, decorators) is kind


def test_configuration_wins_over_what_decorators_show(tmp_path: Path) -> None:
    (tmp_path / "deco.py").write_text(DECORATORS)
    configured = Configured(transparent_decorators=("deco.blocking",), sync_decorators=("*.to_*",))
    project = index.build([str(tmp_path / "deco.py")], configured=configured)
    assert project.decorated_kind(True, ["deco.blocking"]) is True
    assert project.decorated_kind(False, ["deco.to_async"]) is False
    assert project.decorated_kind(True, ["deco.logged"]) is True


def test_decorators_record_whether_they_are_called(tmp_path: Path) -> None:
    (tmp_path / "svc.py").write_text(
        "import functools\nfrom deco import retry\n"
        "class Service:\n"
        "    @staticmethod\n    @retry(3)\n    @retry\n    @functools.lru_cache(maxsize=2)\n"
        "    @REGISTRY['x']\n    @REGISTRY[0].add()\n"
        "    async def fetch(): ...\n"
    )
    facts = index.facts_for(str(tmp_path / "svc.py"))
    assert facts is not None
    assert facts.classes["Service"].methods["fetch"].decorators == (
        "deco.retry()",
        "deco.retry",
        "functools.lru_cache()",
        "?",
        "?",
    )


def test_returned_classes_come_from_annotations_and_return_self(tmp_path: Path) -> None:
    (tmp_path / "conn.py").write_text(
        "from typing import Coroutine, Optional, Self\nimport typing\nfrom store import Store\n"
        "class Conn:\n"
        "    def retrying(self) -> Self: ...\n"
        "    def chained(self):\n        if self:\n            return self\n        return self\n"
        "    def maybe(self):\n        return self if self else None\n"
        "    def store(self) -> 'Optional[Store]': ...\n"
        "    @classmethod\n    def make(cls):\n        return cls\n"
        "def later() -> Coroutine[None, None, int]: ...\n"
        "def never() -> typing.Awaitable[int]: ...\n"
        "def either() -> 'Store | Conn': ...\n"
    )
    facts = index.facts_for(str(tmp_path / "conn.py"))
    assert facts is not None
    returns = {
        name: fact.returns
        for name, fact in [*facts.functions.items(), *facts.classes["Conn"].methods.items()]
    }
    assert returns == {
        "retrying": index.SELF,
        "chained": index.SELF,
        "maybe": None,
        "store": "store.Store",
        "make": None,
        "later": "typing.Coroutine",
        "never": "typing.Awaitable",
        "either": None,
    }
    assert facts.functions["later"].makes_coroutine and not facts.functions["either"].is_async


GENERATORS = """\
# a comment that spells yield
async def agen():
    x = compute(
        1,
        (yield),
    )

async def coro():
    return "no yield here but in this string"

class Service:
    async def stream(self):
        for item in self.items:
            yield item

    async def run(self):
        await self.stream()
"""


@pytest.mark.parametrize("given", [False, True], ids=["read", "given"])
def test_async_generators_are_found_from_the_lines_that_spell_yield(
    tmp_path: Path, given: bool
) -> None:
    path = tmp_path / "gen.py"
    path.write_text(GENERATORS)
    assert index.yield_lines(GENERATORS) == [1, 5, 9, 14]
    facts = index.facts_for(str(path), GENERATORS if given else None)
    assert facts is not None
    assert facts.functions["agen"].is_async is False  # a `yield` on the statement's last line
    assert facts.functions["coro"].is_async is True
    methods = facts.classes["Service"].methods
    assert (methods["stream"].is_async, methods["run"].is_async) == (False, True)


def test_lines_are_counted_as_python_counts_them() -> None:
    assert index.yield_lines("a = 1\r\nb = 2\rdef f():\f\n    yield\n") == [4]
    assert index.yield_lines("def f():\n    return 1\n") == []
    assert index.yield_lines("yielded = 1\nyielded += 1\n") == [1, 2]


def test_a_file_with_a_declared_encoding_is_searched_in_its_decoded_lines(tmp_path: Path) -> None:
    path = tmp_path / "legacy.py"
    source = "# -*- coding: latin-1 -*-\nasync def f():\n    x = 'é'\r    yield x\n"
    path.write_bytes(source.encode("latin-1"))
    facts = index.facts_for(str(path))
    assert facts is not None and facts.functions["f"].is_async is False
