"""Every rule's examples and metadata, with no per-rule code (see ARCHITECTURE.md)."""

from __future__ import annotations

import sys

import pytest

from asynclint import testing
from asynclint.registry import all_rules
from asynclint.rule import Example, Invalid, Rule

CASES = [
    pytest.param(rule, example, id=f"{rule.code}-{type(example).__name__}-{index}")
    for rule in all_rules()
    for index, example in enumerate(rule.examples)
]


def _skip_if_too_new(example: Example) -> None:
    if example.min_python and sys.version_info < example.min_python:
        pytest.skip(f"needs Python {'.'.join(map(str, example.min_python))}")


@pytest.mark.parametrize(("rule", "example"), CASES)
def test_example(rule: type[Rule], example: Example) -> None:
    _skip_if_too_new(example)
    assert testing.check_example(rule, example) == []


@pytest.mark.parametrize(
    ("rule", "example"), [c for c in CASES if isinstance(c.values[1], Invalid)]
)
def test_noqa_suppresses_each_marked_line(rule: type[Rule], example: Example) -> None:
    _skip_if_too_new(example)
    if not rule.suppressible:
        pytest.skip("not suppressible")
    assert testing.check_noqa(rule, example) == []


@pytest.mark.parametrize(
    ("rule", "example"), [c for c in CASES if isinstance(c.values[1], Invalid)]
)
def test_async_only_rules_are_silent_on_sync_code(rule: type[Rule], example: Example) -> None:
    _skip_if_too_new(example)
    if not rule.async_only:
        pytest.skip("rule also applies to sync code")
    assert testing.check_sync_variant(rule, example) == []


@pytest.mark.parametrize(("rule", "example"), [c for c in CASES if c.values[1].fixed is not None])
def test_fixed_example(rule: type[Rule], example: Example) -> None:
    _skip_if_too_new(example)
    assert testing.check_fix(rule, example) == []


@pytest.mark.parametrize("rule", all_rules(), ids=lambda rule: rule.code)
def test_a_rule_with_a_fix_shows_it_in_an_example(rule: type[Rule]) -> None:
    if rule.fix_applicability is None:
        pytest.skip("no fix")
    assert any(example.fixed is not None for example in rule.examples)


@pytest.mark.parametrize("rule", all_rules(), ids=lambda rule: rule.code)
def test_metadata(rule: type[Rule]) -> None:
    assert testing.check_metadata(rule) == []


@pytest.mark.parametrize("rule", all_rules(), ids=lambda rule: rule.code)
def test_every_rule_has_valid_and_invalid_examples(rule: type[Rule]) -> None:
    kinds = {type(example).__name__ for example in rule.examples}
    assert kinds == {"Valid", "Invalid"} or rule.code == "ASL900"


def test_codes_and_names_are_unique() -> None:
    codes = [rule.code for rule in all_rules()]
    names = [rule.name for rule in all_rules()]
    assert len(set(codes)) == len(codes)
    assert len(set(names)) == len(names)
