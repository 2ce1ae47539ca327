"""The engine's walk skips subtrees without handlers and still makes every handler call a
full walk makes, in the same order."""

from __future__ import annotations

import libcst as cst
import pytest

from asynclint import context, engine, walk
from asynclint import source as sources
from asynclint.registry import all_rules
from asynclint.walk import Walker
from tests.conftest import ROOT
from tests.test_engine import ORDER_SAMPLE

Event = tuple[str, type, int]


def modules() -> list[cst.Module]:
    found = [cst.parse_module(ORDER_SAMPLE)]
    texts = [path.read_bytes() for path in sorted((ROOT / "fixtures").rglob("*.py"))]
    for rule in all_rules():
        for example in rule.examples:
            texts.extend(text.encode() for text in example.files().values())
    for text in texts:
        decoded = sources.decode(text)
        parsed = sources.parse(decoded) if isinstance(decoded, sources.Source) else decoded
        if isinstance(parsed, cst.Module):  # the broken fixtures are not
            found.append(parsed)
    return found


MODULES = modules()
HANDLED = frozenset(kind for rule in all_rules() for _, kind in engine._handlers(rule))


class Recorder:
    def __init__(self) -> None:
        self.seen: list[Event] = []

    def enter(self, node: cst.CSTNode) -> None:
        self.seen.append(("enter", type(node), id(node)))

    def leave(self, node: cst.CSTNode) -> None:
        self.seen.append(("leave", type(node), id(node)))

    def visit(self, node: cst.CSTNode) -> None:
        self.seen.append(("visit", type(node), id(node)))

    def left(self, node: cst.CSTNode) -> None:
        self.seen.append(("left", type(node), id(node)))


def full_walk(module: cst.Module) -> list[Event]:
    recorder = Recorder()
    Walker(recorder.enter, recorder.leave, {}, {}).walk(module)
    return recorder.seen


@pytest.mark.parametrize(
    "hooked",
    [
        context.TRACKED | HANDLED,
        frozenset([cst.Comment]),
        frozenset([cst.Name, cst.Comma, cst.SimpleWhitespace]),
        frozenset([cst.Module]),
    ],
    ids=["rules", "comments", "names-commas-whitespace", "module"],
)
def test_a_pruned_walk_makes_the_same_calls_for_the_hooked_types(hooked: frozenset[type]) -> None:
    for module in MODULES:
        expected = [event for event in full_walk(module) if event[1] in hooked]
        recorder = Recorder()
        Walker(recorder.enter, recorder.leave, {}, {}, hooked).walk(module)
        assert recorder.seen == expected


def test_handlers_of_other_types_are_walked_to_and_called_in_order() -> None:
    """A rule's ``visit_Comment``/``leave_Comment`` run where a full walk runs them, between
    the hooks' calls for the ``def`` around the comment."""
    renamed = {"enter": "visit", "leave": "left"}
    comments = 0
    for module in MODULES:
        expected = [
            (kind if node_type is cst.FunctionDef else renamed[kind], node_type, key)
            for kind, node_type, key in full_walk(module)
            if node_type in (cst.FunctionDef, cst.Comment)
        ]
        recorder = Recorder()
        visits, leaves = {cst.Comment: [recorder.visit]}, {cst.Comment: [recorder.left]}
        Walker(recorder.enter, recorder.leave, visits, leaves, [cst.FunctionDef]).walk(module)
        assert recorder.seen == expected
        comments += sum(event[1] is cst.Comment for event in expected)
    assert comments > 100, "the sample has comments in and out of functions"


class Calls(cst.CSTVisitor):
    """Records the calls LibCST makes to a read-only visitor; skips what ``if`` tests."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[tuple[str, int]] = []

    def visit_Call(self, node: cst.Call) -> None:
        self.seen.append(("visit", id(node)))

    def leave_Call(self, original_node: cst.Call) -> None:
        self.seen.append(("leave", id(original_node)))

    def visit_Comment(self, node: cst.Comment) -> None:
        self.seen.append(("comment", id(node)))

    def visit_If(self, node: cst.If) -> bool:
        self.seen.append(("if", id(node)))
        return False

    def leave_If(self, original_node: cst.If) -> None:
        self.seen.append(("left if", id(original_node)))


class EveryNode(Calls):
    """Overrides ``on_visit``: it sees every node, so nothing can be skipped."""

    def on_visit(self, node: cst.CSTNode) -> bool:
        self.seen.append(("node", id(node)))
        return super().on_visit(node)


@pytest.mark.parametrize("visitor", [Calls, EveryNode])
def test_visit_calls_a_read_only_visitor_as_libcst_does(visitor: type[Calls]) -> None:
    calls = 0
    for module in MODULES:
        expected, found = visitor(), visitor()
        module.visit(expected)
        walk.visit(module, found)
        assert found.seen == expected.seen
        calls += len(expected.seen)
    assert calls > 1000
