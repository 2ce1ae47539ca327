"""docs/rules/ is generated from the rule modules; the committed copy must match."""

from __future__ import annotations

from pathlib import Path

from asynclint.docs import rule_docs

DOCS = Path(__file__).resolve().parent.parent / "docs" / "rules"


def test_committed_rule_docs_are_up_to_date() -> None:
    expected = rule_docs()
    committed = {path.name: path.read_text(encoding="utf-8") for path in DOCS.glob("*.md")}
    stale = sorted(
        name
        for name in expected.keys() | committed.keys()
        if expected.get(name) != committed.get(name)
    )
    assert stale == [], "run `asynclint rules --write-docs docs/rules`"
