"""asynclint's positions are exactly LibCST's ``PositionProvider``'s, on every example."""

from __future__ import annotations

import libcst as cst
import pytest
from libcst.metadata import MetadataWrapper, PositionProvider

from asynclint.positions import positions
from asynclint.registry import all_rules
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
