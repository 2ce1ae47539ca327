"""The parse without node validation gives LibCST's trees, and validation comes back after."""

from __future__ import annotations

import libcst as cst
import pytest

from asynclint import unvalidated
from asynclint.counted import Counted
from tests.test_positions import SOURCES


@pytest.mark.parametrize("name", sorted(SOURCES))
def test_the_tree_is_libcsts(name: str) -> None:
    try:
        expected = cst.parse_module(SOURCES[name])
    except cst.ParserSyntaxError:
        pytest.skip("does not parse")
    found = unvalidated.parse_module(SOURCES[name])
    assert found.deep_equals(expected)
    assert found.code == expected.code


def validated_names(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    seen: list[str] = []
    original = cst.Name._validate

    def recording(self: cst.Name) -> None:
        seen.append(self.value)
        original(self)

    monkeypatch.setattr(cst.Name, "_validate", recording)
    return seen


def test_nodes_are_validated_outside_the_parse_only(monkeypatch: pytest.MonkeyPatch) -> None:
    seen = validated_names(monkeypatch)
    unvalidated.parse_module("spawn(task)\n")
    assert seen == []
    cst.parse_module("spawn(task)\n")
    assert seen == ["spawn", "task"]
    with pytest.raises(cst.CSTValidationError, match="empty name identifier"):
        cst.Name("")


def test_validation_comes_back_after_a_failed_parse(monkeypatch: pytest.MonkeyPatch) -> None:
    seen = validated_names(monkeypatch)
    with pytest.raises(cst.ParserSyntaxError):
        unvalidated.parse_module("def (:\n")
    cst.Name("after")
    assert seen == ["after"]


def test_a_counted_setting_is_held_until_its_last_user_leaves() -> None:
    calls: list[str] = []
    setting = Counted(lambda: calls.append("on"), lambda: calls.append("off"))
    with setting:
        with setting:
            assert calls == ["on"]
        assert calls == ["on"]
    assert calls == ["on", "off"]
    with pytest.raises(ValueError), setting:
        raise ValueError
    assert calls == ["on", "off", "on", "off"]
