"""asynclint's positions are exactly LibCST's ``PositionProvider``'s, on every example,
whether the whole module is recorded or one statement at a time."""

from __future__ import annotations

import functools
from collections.abc import Mapping

import libcst as cst
import pytest
from libcst.metadata import CodeRange, MetadataWrapper, PositionProvider

from asynclint import source
from asynclint.engine import source_lines
from asynclint.positions import positions
from asynclint.registry import all_rules
from asynclint.walk import descendants
from tests.conftest import ROOT

TRICKY = {
    "crlf": "import asyncio\r\n\r\nasync def f():\r\n    await asyncio.sleep(1)\r\n",
    "cr": "x = 1\ry = (\r  2)\r",
    "tabs_and_unicode": "if True:\n\tnamé = 'é😀'  # ü\n\tf(namé, \\\n\t  2)\n",
    "decorated": (
        "@a.b(c)\n@d\nclass C(B, metaclass=M):\n    @property\n    def p(self): return 1\n"
    ),
    "strings": 'x = f"{a!r:>{w}} {b=}" "c" \\\n    """d\n e"""\n',
    "statements": (
        "a = 1; b = 2;\nwith (x as y, z):\n    pass\ntry:\n    pass\nexcept* E:\n    pass\n"
    ),
    "empty": "",
    "comments_only": "# a\n\n# b\n",
    "nested": (
        "# header\n\nimport a\n\n\n@d  # c\n\n@e(\n  1)\nclass C:\n    x = 1\n\n"
        "    # about f\n    @staticmethod\n    async def f():\n        def g():\n"
        "            return 1\n        # inner comment\n\n    # outer comment\n"
        "    def h(self): return 2\n    class D: pass\nif x:\n    y = 1\nelse:\n"
        "    y = 2\ndef k():\n\tif a:\n\t\tpass\n\telse:\n\t\tb = '''\nc = 1\n'''\n"
        "\tz = (\n1)\n"
    ),
    "crlf_nested": (
        "class C:\r\n    def f(self):\r\n        pass\r\n\r\n"
        "    def g(self):\r\n        return 1\r\n"
    ),
    "form_feed": "x = 1\n\f\ndef f():\n    \f\n    return 1\n",
    "no_final_newline": "class C:\n    def f(self):\n        pass\n    y = 1",
}


def sources() -> dict[str, str]:
    found = dict(TRICKY)
    for path in sorted((ROOT / "fixtures").rglob("*.py")):
        try:
            found[str(path.relative_to(ROOT))] = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
    for rule in all_rules():
        for number, example in enumerate(rule.examples):
            for name, text in example.files().items():
                if name.endswith(".py"):
                    found[f"{rule.code}-{number}-{name}"] = text
    return found


SOURCES = sources()


@pytest.mark.parametrize("name", sorted(SOURCES))
def test_positions_match_libcst(name: str) -> None:
    try:
        module = cst.parse_module(SOURCES[name])
    except cst.ParserSyntaxError:
        pytest.skip("does not parse")
    expected = MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)
    found = positions(module)
    assert len(found) == len(expected)
    assert {node: found[node] for node in found} == dict(expected)


def trails(module: cst.Module) -> list[list[cst.BaseStatement]]:
    """Every statement of the module's body, or of the body of a class or function in it,
    with its ancestors among those."""
    found = []
    pending: list[list[cst.BaseStatement]] = [[statement] for statement in module.body]
    while pending:
        trail = pending.pop()
        found.append(trail)
        node = trail[-1]
        if isinstance(node, (cst.ClassDef, cst.FunctionDef)) and isinstance(
            node.body, cst.IndentedBlock
        ):
            pending.extend([*trail, statement] for statement in node.body.body)
    return found


Scanned = tuple[cst.Module, list[tuple[int, int]], Mapping[cst.CSTNode, CodeRange]]


@functools.cache
def scanned(text: str) -> Scanned | None:
    """The module, where its logical lines start, and LibCST's positions of its nodes."""
    parsed = source.parse_scanned(source.Source(text, "utf-8", bom=False))
    if isinstance(parsed, source.SourceError):
        return None
    module, lines = parsed
    return module, lines, MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)


def parsed(text: str) -> Scanned:
    found = scanned(text)
    if found is None:
        pytest.skip("does not parse")
    return found


@pytest.mark.parametrize("name", sorted(SOURCES))
def test_each_statement_alone_matches_libcst(name: str) -> None:
    """Only a statement that ends the file without a line break is not placed alone (LibCST
    generates one there)."""
    text = SOURCES[name]
    module, lines, expected = parsed(text)
    unterminated = not text.endswith(("\n", "\r"))
    for trail in trails(module):
        found = positions(module, text, lines).within(trail)
        statement = trail[-1]
        alone = not (unterminated and expected[statement].end.line == len(source_lines(text)))
        assert found.complete is not alone
        for node in [statement, *descendants(statement)]:
            assert found[node] == expected[node]
        assert found.complete is not alone


@pytest.mark.parametrize("name", sorted(SOURCES))
def test_a_node_in_a_header_records_the_header_alone(name: str) -> None:
    """A compound statement's nodes before its body (a function's decorators, name and
    parameters) are placed without generating the body; a node of the body is not."""
    text = SOURCES[name]
    module, lines, expected = parsed(text)
    for trail in trails(module):
        statement = trail[-1]
        body = getattr(statement, "body", None)
        if not isinstance(body, cst.BaseSuite):
            continue
        nodes = list(descendants(statement))
        cut = next(number for number, node in enumerate(nodes) if node is body)
        if cut:
            found = positions(module, text, lines).within(trail, nodes[cut - 1])
            assert not found.recorded(body)
            assert not found.recorded(statement)
            for node in nodes[:cut]:
                assert found.recorded(node)
                assert found[node] == expected[node]
        found = positions(module, text, lines).within(trail, body)
        assert found.recorded(body)
        assert found[body] == expected[body]


def test_a_node_outside_the_statement_records_the_whole_module() -> None:
    module, lines, expected = parsed(SOURCES["nested"])
    found = positions(module, SOURCES["nested"], lines).within([module.body[-1]])
    assert not found.complete
    assert found[module.body[0]] == expected[module.body[0]]
    assert found.complete
