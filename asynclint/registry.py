"""Rule discovery and rule selection.

Rules are found by importing every module of :mod:`asynclint.rules`; nothing lists them,
so adding a rule touches one file. Selectors (codes, code prefixes, kebab-case names,
``ALL``) are resolved here for the CLI and the configuration alike.
"""

from __future__ import annotations

import difflib
import functools
import importlib
import pkgutil
from collections.abc import Iterable
from typing import TYPE_CHECKING

from asynclint import rules as rules_package
from asynclint.errors import UsageError

if TYPE_CHECKING:
    from asynclint.rule import Rule


class UnknownSelector(UsageError, ValueError):
    """A code, prefix or name that matches no rule."""

    def __init__(self, selector: str, suggestion: str | None) -> None:
        hint = f"; did you mean `{suggestion}`?" if suggestion else ""
        super().__init__(f"unknown rule selector `{selector}`{hint}")
        self.selector = selector
        self.suggestion = suggestion


@functools.cache
def all_rules() -> tuple[type[Rule], ...]:
    """Every rule class, sorted by code (importing them loads LibCST: only when asked)."""
    from asynclint.rule import Rule

    found: list[type[Rule]] = []
    for info in pkgutil.iter_modules(rules_package.__path__):
        module = importlib.import_module(f"{rules_package.__name__}.{info.name}")
        for value in vars(module).values():
            if (
                isinstance(value, type)
                and issubclass(value, Rule)
                and value.__module__ == module.__name__
                and "code" in vars(value)
            ):
                found.append(value)
    return tuple(sorted(found, key=lambda rule: rule.code))


@functools.cache
def rules_by_key() -> dict[str, type[Rule]]:
    """Rules by code and by name."""
    table: dict[str, type[Rule]] = {}
    for rule in all_rules():
        table[rule.code] = rule
        table[rule.name] = rule
    return table


def get_rule(key: str) -> type[Rule]:
    """The rule with this code or name (case-insensitive code)."""
    table = rules_by_key()
    rule = table.get(key) or table.get(key.upper())
    if rule is None:
        raise UnknownSelector(key, _suggest(key))
    return rule


def resolve_selector(selector: str) -> set[str]:
    """The codes a selector stands for: ``ALL``, a code or code prefix, or a rule name."""
    if selector == "ALL":
        return {rule.code for rule in all_rules()}
    if selector in rules_by_key():
        return {rules_by_key()[selector].code}
    upper = selector.upper()
    codes = {rule.code for rule in all_rules() if rule.code.startswith(upper)}
    if codes and upper.startswith("ASL"):
        return codes
    raise UnknownSelector(selector, _suggest(selector))


def resolve_selectors(selectors: Iterable[str]) -> set[str]:
    codes: set[str] = set()
    for selector in selectors:
        codes |= resolve_selector(selector)
    return codes


def default_codes() -> set[str]:
    return {rule.code for rule in all_rules() if rule.default_enabled}


def _suggest(selector: str) -> str | None:
    candidates = [key for key in rules_by_key() if not key.isupper()] + [
        rule.code for rule in all_rules()
    ]
    matches = difflib.get_close_matches(selector, candidates, n=1, cutoff=0.6)
    return matches[0] if matches else None
