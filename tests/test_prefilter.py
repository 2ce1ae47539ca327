"""The pre-filter never changes findings, and it does skip what cannot fire."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import libcst as cst
import pytest

from asynclint import index, prefilter
from asynclint.engine import FileJob, check_file, check_source, selected_rules
from asynclint.registry import all_rules, default_codes
from asynclint.rule import Example, Rule
from asynclint.testing import strip_async
from tests.conftest import ROOT

Findings = list[tuple[str, int, int, str, str]]


def findings(
    paths: Mapping[str, str], codes: frozenset[str], options: Mapping[str, Mapping[str, Any]]
) -> list[Findings]:
    """Each file's findings with and without the pre-filter, against an index of all."""
    outcomes = []
    for enabled in (True, False):
        per_file: Findings = []
        for path in paths.values():
            result = check_file(FileJob(path, codes, options, prefilter=enabled))
            assert result.error is None, result.error
            per_file += [(d.path, d.line, d.column, d.code, d.message) for d in result.diagnostics]
        outcomes.append(per_file)
    return outcomes


def variants(example: Example) -> Iterator[dict[str, str]]:
    """The example as written and, where it parses, with every async and await removed
    (what the pre-filter sees as sync code)."""
    files = example.files()
    yield files
    try:
        yield {path: strip_async(text) for path, text in files.items()}
    except cst.ParserSyntaxError:
        return


def written(root: str, files: Mapping[str, str]) -> dict[str, str]:
    paths = {}
    for name, text in files.items():
        path = os.path.join(root, name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        Path(path).write_text(text, encoding="utf-8")
        paths[name] = path
    return paths


@pytest.mark.parametrize("rule", all_rules(), ids=lambda rule: rule.code)
def test_every_example_gives_the_same_findings_with_and_without(rule: type[Rule]) -> None:
    everything = frozenset(default_codes() | {rule.code})
    for example in rule.examples:
        for files in variants(example):
            with tempfile.TemporaryDirectory() as root:
                paths = written(root, files)
                previous = index.active()
                index.set_active(index.build(paths.values()))
                try:
                    for codes in (frozenset({rule.code}), everything):
                        options = {rule.code: example.options}
                        filtered, unfiltered = findings(paths, codes, options)
                        assert filtered == unfiltered, (rule.code, files)
                finally:
                    index.set_active(previous)


def test_every_fixture_gives_the_same_findings_with_and_without() -> None:
    paths = {str(p): str(p) for p in sorted((ROOT / "fixtures").rglob("*.py"))}
    previous = index.active()
    index.set_active(index.build(paths.values()))
    try:
        filtered, unfiltered = findings(paths, frozenset(r.code for r in all_rules()), {})
    finally:
        index.set_active(previous)
    assert filtered == unfiltered
    assert filtered, "the fixtures have findings"


# --- what it skips ----------------------------------------------------------------------


def visiting_rules() -> list[type[Rule]]:
    """The default rules that visit nodes (ASL900 has nothing to visit)."""
    return [rule for rule in selected_rules(default_codes()) if rule.code != "ASL900"]


def codes_left(text: str, path: str = "x.py") -> list[str]:
    return [rule.code for rule in prefilter.applicable(visiting_rules(), text, path, {})]


def sync_rules() -> list[str]:
    """The sync rules a text that spells none of the names of :attr:`Rule.spelled` keeps."""
    return sorted(r.code for r in visiting_rules() if not r.async_only and not r.spelled)


def test_a_file_without_async_code_or_links_needs_no_rule() -> None:
    assert codes_left("import json\n\ndef load(text):\n    return json.loads(text)\n") == []


def test_async_code_keeps_every_rule() -> None:
    text = "async def f():\n    pass\n"
    expected = sorted(rule.code for rule in visiting_rules() if not rule.spelled)
    assert sorted(codes_left(text)) == expected


class PrintRule(Rule):
    """A rule from outside asynclint's rule package (a plugin, a test)."""

    code = "ASL994"
    name = "print-call"
    message = "print"

    def visit_Call(self, node: cst.Call) -> None:
        self.report(node)


def test_a_rule_from_outside_the_rule_package_is_always_kept() -> None:
    text = "def f():\n    print(1)\n"
    rules = [*visiting_rules(), PrintRule]
    assert [rule.code for rule in prefilter.applicable(rules, text, "m.py", {})] == ["ASL994"]
    assert [rule.code for rule in prefilter.applicable(rules, "x = 1\n", "m.py", {})] == ["ASL994"]


def test_a_spelled_knowledge_name_keeps_the_sync_rules() -> None:
    assert sorted(codes_left("import asyncio\n\ndef f(c):\n    asyncio.ensure_future(c)\n")) == (
        sync_rules()
    )


def test_importing_asyncio_without_using_anything_known_needs_no_rule() -> None:
    assert codes_left("import asyncio\n\nx = asyncio.iscoroutinefunction\n") == []


def test_a_fixture_named_like_a_loop_keeps_the_sync_rules() -> None:
    assert sorted(codes_left("def test_x(loop):\n    loop.create_task(coro())\n")) == sync_rules()


def test_a_fixture_name_links_only_as_a_parameter() -> None:
    for_loop = "def run(steps):\n    for loop in steps:\n        loop.create_task(coro())\n"
    assert codes_left(for_loop) == []
    uses_mocker = "def test_x(mocker):\n    made = mocker.AsyncMock()\n    made.assert_called()\n"
    assert sorted(codes_left(uses_mocker)) == sorted([*sync_rules(), "ASL502"])
    assert codes_left("def test_x(mocker):\n    mocker.sentinel.called\n") == []


def test_the_module_a_fixture_stands_for_is_not_a_name_of_the_data() -> None:
    assert codes_left("from unittest import mock\n\nx = mock.sentinel.value\n") == []


INERT_NAMES = """\
import abc
import functools
import subprocess
import threading
import time
from typing import Generic, TypeVar

import pytest
from typing_extensions import Self

T = TypeVar("T")


class Base(abc.ABC, Generic[T]):
    lock = threading.Lock()

    @functools.lru_cache
    def copy(self) -> Self:
        time.sleep(1)
        subprocess.run(["true"])
        return functools.partial(type(self))()


@pytest.fixture
def base():
    return Base()


@pytest.mark.parametrize("n", [1])
def test_copy(base, n):
    with pytest.raises(ValueError):
        base.copy()
"""


def test_names_of_inert_data_do_not_link() -> None:
    """Blocking APIs, neutral bases, transparent wrappers, test marks and fixtures: names
    the tables hold that make nothing asynchronous (:mod:`asynclint.knowledge`)."""
    assert codes_left(INERT_NAMES) == []
    assert sorted(codes_left(INERT_NAMES + "\nasyncio.ensure_future(x)\nimport asyncio\n")) == (
        sync_rules()
    )


def test_a_rule_is_dropped_where_none_of_the_names_its_findings_are_about_is_spelled() -> None:
    without = "import asyncio\n\n\nclass T:\n    async def test_x(self):\n        await f()\n"
    assert "ASL504" not in codes_left(without)
    assert "ASL502" not in codes_left(without)
    assert "ASL501" in codes_left(without)
    hooked = without + "\n    def tearDown(self):\n        self.m.assert_called()\n"
    assert {"ASL502", "ASL504"} <= set(codes_left(hooked))
    assert "ASL504" not in codes_left(without + "\n# teardown_methods\n")


def test_an_import_inside_a_function_counts() -> None:
    text = "def f(c):\n    from asyncio import ensure_future\n    ensure_future(c)\n"
    assert sorted(codes_left(text)) == sync_rules()


@pytest.fixture
def project(tmp_path: Path) -> Iterator[Path]:
    (tmp_path / "store.py").write_text(
        "import asyncio\n\n\nclass Store:\n    async def save(self):\n        pass\n\n"
        "    def size(self):\n        return 1\n\n\n"
        "def spawn(c):\n    return asyncio.create_task(c)\n"
    )
    previous = index.active()
    index.set_active(index.build([str(tmp_path / "store.py")]))
    yield tmp_path
    index.set_active(previous)


def test_an_async_method_of_an_imported_class_links_only_where_spelled(project: Path) -> None:
    app = str(project / "app.py")
    uses_size = "from store import Store\n\ndef f():\n    return Store().size()\n"
    uses_save = "from store import Store\n\ndef f():\n    Store().save()\n"
    assert codes_left(uses_size, app) == []
    assert sorted(codes_left(uses_save, app)) == sync_rules()


def test_a_project_helper_returning_a_task_links(project: Path) -> None:
    text = "from store import spawn\n\ndef f(c):\n    spawn(c)\n"
    assert sorted(codes_left(text, str(project / "app.py"))) == sync_rules()


def test_a_quoted_dotted_name_is_followed_like_an_import(project: Path) -> None:
    """``patch("store.Store.save")`` makes an async mock from a name no import binds."""
    app = str(project / "app.py")
    assert sorted(codes_left('TARGET = "store.Store.save"\n', app)) == sync_rules()
    assert sorted(codes_left('TARGET = "store.spawn"\n', app)) == sync_rules()
    assert codes_left('TARGET = "store.Store.size"\n', app) == []


def test_a_configured_coroutine_glob_links_where_its_last_name_is_spelled(project: Path) -> None:
    active = index.active()
    active.configured = type(active.configured)(coroutine_functions=("vendor.*.fetch_all",))
    spelled = codes_left("from vendor.api import fetch_all\n\nfetch_all()\n")
    assert sorted(spelled) == sync_rules()
    assert codes_left("from vendor.api import other\n\nother()\n") == []
    active.configured = type(active.configured)(coroutine_functions=("vendor.fetch_*",))
    assert sorted(codes_left("from vendor import other\n\nother()\n")) == sync_rules()


DECORATORS = """\
import functools


def retry(func):
    @functools.wraps(func)
    async def wrapper(*args, **kwargs):
        return await func(*args, **kwargs)
    return wrapper


def logged(func):
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        return func(*args, **kwargs)
    return wrapper
"""
JOBS = "from deco import logged, retry\n\n\n@retry\ndef fetch():\n    return 1\n\n\n"
JOBS += "@logged\ndef size():\n    return 1\n"


def test_a_decorator_that_makes_calls_coroutines_links(tmp_path: Path) -> None:
    (tmp_path / "deco.py").write_text(DECORATORS)
    (tmp_path / "jobs.py").write_text(JOBS)
    previous = index.active()
    index.set_active(index.build([str(tmp_path / "deco.py"), str(tmp_path / "jobs.py")]))
    try:
        app = str(tmp_path / "app.py")
        calls_fetch = "from jobs import fetch\n\ndef f():\n    fetch()\n"
        assert sorted(codes_left(calls_fetch, app)) == sync_rules()
        assert codes_left("from jobs import size\n\ndef f():\n    size()\n", app) == []
        decorates = "from deco import {}\n\n\n@{}\ndef fetch():\n    return 1\n\n\nfetch()\n"
        assert sorted(codes_left(decorates.format("retry", "retry"), app)) == sync_rules()
        assert codes_left(decorates.format("logged", "logged"), app) == []
    finally:
        index.set_active(previous)


FACTORY = """\
from collections.abc import Coroutine


class Plain:
    def size(self):
        return 1


class Pool:
    async def __aenter__(self):
        return self

    async def __aexit__(self, *exc_info):
        return None


def plain() -> Plain:
    return Plain()


def pool() -> Pool:
    return Pool()


def name() -> str:
    return "pool"


def job() -> Coroutine[None, None, int]:
    return work()


async def work():
    return 1
"""


def test_a_function_links_through_the_class_it_returns(tmp_path: Path) -> None:
    """A return annotation is followed to the class it names: a plain class or a builtin
    gives no link; a class with the async protocol, or a coroutine type, does."""
    (tmp_path / "factory.py").write_text(FACTORY)
    previous = index.active()
    index.set_active(index.build([str(tmp_path / "factory.py")]))
    try:
        app = str(tmp_path / "app.py")
        assert codes_left("from factory import plain\n\nplain().size()\n", app) == []
        assert codes_left("from factory import name\n\nprint(name())\n", app) == []
        uses_pool = "from factory import pool\n\nwith pool():\n    pass\n"
        assert sorted(codes_left(uses_pool, app)) == sync_rules()
        calls_job = "from factory import job\n\n\ndef f():\n    job()\n"
        assert sorted(codes_left(calls_job, app)) == sync_rules()
        found = check_source(calls_job, app, ["ASL101"])
        assert [(d.line, d.column, d.code) for d in found] == [(5, 5, "ASL101")]
    finally:
        index.set_active(previous)


def test_a_package_is_not_read_again_as_its_own_submodule(tmp_path: Path) -> None:
    """``__init__`` in a package's folder is the package itself, not a submodule to follow
    when a file spells ``__init__`` (it would be read and indexed a second time)."""
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "__init__.py").write_text("def helper():\n    return 1\n")
    (package / "mod.py").write_text("X = 1\n")
    previous = index.active()
    project = index.build([str(package / "mod.py")])
    project.search_path = [str(tmp_path)]
    index.set_active(project)
    try:
        text = "import pkg\n\n\nclass A:\n    def __init__(self):\n        pkg.helper()\n"
        assert codes_left(text, str(tmp_path / "app.py")) == []
        assert "pkg" in project.modules
        assert "pkg.__init__" not in project.modules
    finally:
        index.set_active(previous)


def test_unparsable_text_keeps_the_rules() -> None:
    assert sorted(codes_left("def f(:\n")) == sync_rules()


# --- the engine with it -------------------------------------------------------------------


def test_a_skipped_file_is_never_parsed_by_libcst(libcst_parses: list[str]) -> None:
    assert check_source("import json\n\nprint(json.dumps(1))\n", "x.py") == []
    assert libcst_parses == []
    check_source("import json\n\nprint(json.dumps(1))\n", "x.py", prefilter=False)
    assert len(libcst_parses) == 1


def test_syntax_errors_are_still_reported_without_rules_to_run() -> None:
    found = check_source("x = (\n", "x.py")
    assert [(d.code, d.line, d.column) for d in found] == [("ASL900", 1, 5)]


def test_what_only_the_parse_guard_refuses_is_still_reported() -> None:
    text = "x = " + " and ".join(["a"] * 1100) + "\n"
    found = check_source(text, "x.py")
    assert [d.code for d in found] == ["ASL900"]
    assert found[0].message.startswith("too deeply nested for the parser")
