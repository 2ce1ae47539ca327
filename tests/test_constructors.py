"""The faster node constructors behave as the ones ``dataclasses`` generated: same
parameters and defaults, fresh default objects, validation, and the same trees."""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Iterator

import libcst as cst
import pytest

from asynclint import constructors, unvalidated
from tests.test_positions import SOURCES


@pytest.fixture(scope="module")
def installed() -> dict[type[cst.CSTNode], object]:
    constructors.install()
    return dict(constructors.ORIGINAL)


@pytest.fixture
def originals(installed: dict[type[cst.CSTNode], object]) -> Iterator[None]:
    """The generated constructors back, for the length of a test."""
    made = {kind: vars(kind)["__init__"] for kind in installed}
    for kind, original in installed.items():
        setattr(kind, "__init__", original)  # noqa: B010
    yield
    for kind, constructor in made.items():
        setattr(kind, "__init__", constructor)  # noqa: B010


def test_every_node_class_of_the_parser_is_replaced(installed: dict[type, object]) -> None:
    for name in ["Name", "Call", "FunctionDef", "SimpleWhitespace", "Module", "Comma"]:
        assert getattr(cst, name) in installed


def test_signatures_and_defaults_are_the_generated_ones(installed: dict[type, object]) -> None:
    for kind, original in installed.items():
        assert callable(original)
        expected = inspect.signature(original).parameters
        found = inspect.signature(vars(kind)["__init__"]).parameters
        assert list(found) == list(expected), kind
        for field in dataclasses.fields(kind):
            default = found[field.name].default
            if field.default_factory is not dataclasses.MISSING:
                assert default is constructors._MADE_BY_FACTORY, (kind, field.name)
            elif field.default is not dataclasses.MISSING:
                assert default is field.default is expected[field.name].default, (kind, field.name)
            else:
                assert default is expected[field.name].default is inspect.Parameter.empty


def test_a_default_factory_makes_a_fresh_object_each_time(installed: dict[type, object]) -> None:
    first, second = cst.Call(func=cst.Name("f")), cst.Call(func=cst.Name("g"))
    assert first.whitespace_after_func.deep_equals(cst.SimpleWhitespace(""))
    assert first.whitespace_after_func is not second.whitespace_after_func


def test_nodes_built_outside_a_parse_are_still_validated(installed: dict[type, object]) -> None:
    with pytest.raises(cst.CSTValidationError, match="not a valid identifier"):
        cst.Name("1x")
    with pytest.raises(TypeError, match="value"):
        cst.Name()  # type: ignore[call-arg]
    with pytest.raises(cst.CSTValidationError):
        cst.Name("x").with_changes(value="")


@pytest.mark.parametrize("name", sorted(SOURCES)[::7])
def test_trees_equal_those_of_the_generated_constructors(
    name: str, installed: dict[type, object], request: pytest.FixtureRequest
) -> None:
    try:
        found = unvalidated.parse_module(SOURCES[name])
    except cst.ParserSyntaxError:
        pytest.skip("does not parse")
    request.getfixturevalue("originals")
    expected = cst.parse_module(SOURCES[name])
    assert vars(cst.Name)["__init__"] is installed[cst.Name]  # the generated one, for now
    assert found.deep_equals(expected)
    assert found.code == expected.code
