"""``docs/rules/ASLnnn.md``, generated from the rule modules (one source of truth)."""

from __future__ import annotations

from pathlib import Path

from asynclint.registry import all_rules


def rule_docs() -> dict[str, str]:
    """File name → Markdown for every rule, plus an index."""
    pages = {f"{rule.code}.md": rule.documentation() for rule in all_rules()}
    index = ["# Rules", "", "| code | name | summary |", "|---|---|---|"]
    index += [
        f"| [{rule.code}]({rule.code}.md) | {rule.name} | {rule.summary()} |"
        for rule in all_rules()
    ]
    pages["README.md"] = "\n".join(index) + "\n"
    return pages


def write_rule_docs(directory: Path) -> list[Path]:
    """Write the pages; stale pages of rules that no longer exist are removed."""
    directory.mkdir(parents=True, exist_ok=True)
    pages = rule_docs()
    for stale in directory.glob("ASL*.md"):
        if stale.name not in pages:
            stale.unlink()
    written = []
    for name, text in pages.items():
        target = directory / name
        target.write_text(text, encoding="utf-8")
        written.append(target)
    return written
