"""LibCST's node constructors, faster and with the same behaviour.

LibCST's nodes are frozen, slotted dataclasses: the ``__init__`` that ``dataclasses``
generates sets every field with ``object.__setattr__`` (a frozen class refuses plain
assignment), which looks the field's slot up on each call before setting it. A parse
builds every node through these constructors: they are a fifth of it. The constructors
made here set each field through its slot directly, and otherwise do what the generated
ones do: the same parameters with the same defaults, default factories called, then
``__post_init__`` (LibCST's validation, which :mod:`asynclint.unvalidated` switches off
while its own parser builds the nodes). ``tests/test_constructors.py`` compares both.
"""

from __future__ import annotations

import dataclasses
import types
from collections.abc import Callable

from libcst import CSTNode

from asynclint import walk

_MADE_BY_FACTORY = object()
"""The default of a parameter whose field has a default factory (as in ``dataclasses``)."""

ORIGINAL: dict[type[CSTNode], Callable[..., None]] = {}
"""Each replaced constructor, by class."""


def _slot(kind: type, name: str) -> types.MemberDescriptorType | None:
    """The slot that holds field `name` of `kind`; None when something else defines it."""
    for owner in kind.__mro__:
        found = vars(owner).get(name)
        if found is not None:
            return found if isinstance(found, types.MemberDescriptorType) else None
    return None


def _constructor(kind: type[CSTNode]) -> Callable[..., None] | None:
    """A constructor for `kind`; None for a class it cannot build as ``dataclasses`` does
    (a field outside the constructor, keyword-only, or without a slot of its own)."""
    if not dataclasses.is_dataclass(kind):
        return None
    namespace: dict[str, object] = {"_MADE_BY_FACTORY": _MADE_BY_FACTORY}
    parameters = []
    body = []
    for number, field in enumerate(dataclasses.fields(kind)):
        slot = _slot(kind, field.name)
        if not field.init or field.kw_only is True or slot is None:
            return None
        namespace[f"_set{number}"] = slot.__set__
        if field.default is not dataclasses.MISSING:
            namespace[f"_default{number}"] = field.default
            parameters.append(f"{field.name}=_default{number}")
        elif field.default_factory is not dataclasses.MISSING:
            namespace[f"_factory{number}"] = field.default_factory
            parameters.append(f"{field.name}=_MADE_BY_FACTORY")
            body.append(f"if {field.name} is _MADE_BY_FACTORY: {field.name} = _factory{number}()")
        else:
            parameters.append(field.name)
        body.append(f"_set{number}(self, {field.name})")
    if hasattr(kind, "__post_init__"):
        body.append("self.__post_init__()")
    lines = "".join(f"\n    {line}" for line in body or ["pass"])
    exec(f"def __init__(self, {', '.join(parameters)}):{lines}", namespace)
    made = namespace["__init__"]
    assert isinstance(made, types.FunctionType)
    made.__qualname__ = f"{kind.__qualname__}.__init__"
    return made


def install() -> None:
    """Replace the constructor of every node class that :func:`_constructor` can build
    (once per process)."""
    if ORIGINAL:
        return
    for kind in walk.node_types():
        if "__slots__" not in vars(kind) or "__init__" not in vars(kind):
            continue  # abstract, or the class a slotted copy replaced
        made = _constructor(kind)
        if made is not None:
            ORIGINAL[kind] = vars(kind)["__init__"]
            setattr(kind, "__init__", made)  # noqa: B010  # mypy refuses assigning a method
