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
