"""The ``report`` mode outputs: a summary table for people and a JSON file for tools."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence

from asynclint.sanitizer.findings import Finding


def summary(findings: Sequence[Finding], owners: Sequence[str | None] = ()) -> str:
    """One line per finding (code, name, creation line, object, owning test), then totals."""
    lines = [f"asyncsan report: {len(findings)} finding{'s' * (len(findings) != 1)}"]
    for index, finding in enumerate(findings):
        where = finding.location
        place = f"{where.filename}:{where.lineno}" if where else "<unknown site>"
        owner = owners[index] if index < len(owners) and owners[index] else ""
        lines.append(
            f"  {finding.code} {finding.check.name:<30} {place}  {finding.subject}"
            + (f"  [{owner}]" if owner else "")
        )
    counts = Counter(finding.code for finding in findings)
    if counts:
        lines.append("  totals: " + ", ".join(f"{code} x{n}" for code, n in sorted(counts.items())))
    return "\n".join(lines)


def write_json(path: str, findings: Sequence[Finding], owners: Sequence[str | None] = ()) -> None:
    records = []
    for index, finding in enumerate(findings):
        record = finding.to_dict()
        record["owner"] = owners[index] if index < len(owners) else None
        records.append(record)
    with open(path, "w", encoding="utf-8") as stream:
        json.dump({"version": 1, "findings": records}, stream, indent=2)
        stream.write("\n")
