"""docs/guides/async-tests.md cannot rot: its Python blocks compile, each "before" block
(``<!-- asynclint: CODE -->``) makes its rule report, and each "after" block
(``<!-- asynclint: fixed CODE -->``) is exactly what the rule's fixes make of the block
before it, and is clean."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from asynclint import index, testing
from asynclint.registry import get_rule

GUIDE = Path(__file__).resolve().parent.parent / "docs" / "guides" / "async-tests.md"
_BLOCK = re.compile(
    r"(?:<!-- asynclint: (?P<marker>[^>]*?) -->\n)?```python\n(?P<code>.*?)```", re.S
)


def _blocks() -> list[tuple[str, str]]:
    return [(m["marker"] or "", m["code"]) for m in _BLOCK.finditer(GUIDE.read_text())]


def _pairs() -> list[tuple[str, str, str]]:
    """(code, before, after) for each marked pair, in the guide's order."""
    pairs = []
    before: dict[str, str] = {}
    for marker, code in _blocks():
        kind, _, rule = marker.rpartition(" ")
        if marker and not kind:
            before[rule] = code
        elif kind == "fixed":
            pairs.append((rule, before.pop(rule), code))
    return pairs


@contextmanager
def _indexed(path: Path) -> Iterator[None]:
    """Resolve names against an index of `path`, as the CLI does."""
    previous = index.active()
    index.set_active(index.build([str(path)]))
    try:
        yield
    finally:
        index.set_active(previous)


def test_the_guide_has_a_before_and_after_for_each_rule() -> None:
    markers = [marker for marker, _ in _blocks()]
    assert [rule for rule, _, _ in _pairs()] == ["ASL501", "ASL502", "ASL503", "ASL504", "ASL504"]
    assert set(markers) == {"", *(f"{kind}ASL50{n}" for kind in ("", "fixed ") for n in "1234")}


@pytest.mark.parametrize(("number", "code"), list(enumerate(code for _, code in _blocks())))
def test_every_python_block_compiles(number: int, code: str) -> None:
    compile(code, f"{GUIDE.name} block {number}", "exec", dont_inherit=True)


@pytest.mark.parametrize(("code", "before", "after"), _pairs(), ids=lambda v: v[:6])
def test_before_is_reported_and_fixed_into_after(
    code: str, before: str, after: str, tmp_path: Path
) -> None:
    rule = get_rule(code)
    found = testing.run(rule, {"test_guide.py": before}, {})
    assert found and {mark.code for mark in found} == {code}
    path = tmp_path / "test_guide.py"
    path.write_text(before)
    with _indexed(path):
        fixed, problems = testing.apply_fixes(rule, str(path), before, {})
    assert (fixed, problems) == (after, [])
    assert testing.run(rule, {"test_guide.py": after}, {}) == []
