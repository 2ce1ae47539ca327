"""The engine's parse and pass run without the cyclic garbage collector and give it back after."""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator
from typing import ClassVar

import libcst as cst
import pytest

from asynclint import engine
from asynclint.diagnostic import Diagnostic
from asynclint.rule import Rule
from tests.conftest import ROOT

SOURCE = "async def f():\n    pass\n"


class Observer(Rule):
    """Records whether the collector runs while rules visit and while positions are read."""

    code = "ASL990"
    name = "gc-observer"
    message = "seen"
    seen: ClassVar[list[bool]] = []

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        Observer.seen.append(gc.isenabled())
        self.report(node.name)

    def leave_Module(self, original_node: cst.Module) -> None:
        Observer.seen.append(gc.isenabled())


@pytest.fixture
def observer() -> Iterator[type[Observer]]:
    Observer.seen.clear()
    yield Observer
    Observer.seen.clear()


def run(rule: type[Rule]) -> list[str]:
    module = cst.parse_module(SOURCE)
    found = engine.analyse(module, "x.py", [rule], {}, engine.source_lines(SOURCE), SOURCE)
    return [f"{d.line}:{d.column} {d.code}" for d in found]


def test_the_pass_runs_without_the_collector_and_enables_it_again(
    observer: type[Observer],
) -> None:
    assert gc.isenabled()
    assert run(observer) == ["1:11 ASL990"]
    assert observer.seen == [False, False]
    assert gc.isenabled()


def test_a_disabled_collector_stays_disabled(observer: type[Observer]) -> None:
    gc.disable()
    try:
        assert run(observer) == ["1:11 ASL990"]
        assert not gc.isenabled()
    finally:
        gc.enable()
    assert observer.seen == [False, False]


def test_the_collector_is_enabled_again_when_a_rule_fails() -> None:
    class Failing(Rule):
        code = "ASL991"
        name = "failing"
        message = "never"

        def visit_Module(self, node: cst.Module) -> None:
            raise ValueError("broken rule")

    with pytest.raises(ValueError, match="broken rule"):
        run(Failing)
    assert gc.isenabled()


def test_the_parse_runs_without_the_collector(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[bool] = []
    parse = cst.parse_module

    def observed(text: str) -> cst.Module:
        seen.append(gc.isenabled())
        return parse(text)

    monkeypatch.setattr(cst, "parse_module", observed)
    assert engine.check_source(SOURCE, "x.py", ["ASL101"], prefilter=False) == []
    assert (seen, gc.isenabled()) == ([False], True)


def garbage_nodes(check: Callable[[], object]) -> int:
    """LibCST nodes that `check` left for the cyclic collector (in or held by a cycle)."""
    gc.collect()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        check()
        gc.collect()
        return sum(isinstance(item, cst.CSTNode) for item in gc.garbage)
    finally:
        gc.set_debug(0)
        gc.garbage.clear()


@pytest.mark.parametrize("name", ["chat_service/server.py", "order_service/worker.py"])
def test_every_rule_leaves_the_tree_to_reference_counting(name: str) -> None:
    """Scopes, the context and the rules are emptied when the pass ends, so no cycle among
    them holds the file's tree: the collector never has to walk it."""
    data = (ROOT / "fixtures" / name).read_bytes()
    found: list[Diagnostic] = []
    assert garbage_nodes(lambda: found.extend(engine.check_source(data, name))) == 0
    assert found  # the rules did report, with positions and fixes
