"""``--fix --unsafe-fixes`` over every fixture and every rule's invalid examples at once,
through the CLI: every file it changes still compiles, and a second pass changes nothing."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from asynclint import testing
from asynclint.registry import all_rules
from asynclint.rule import Invalid
from tests.conftest import ROOT, RunCli


def _write_examples(root: Path) -> None:
    """Each invalid example as its own small project, markers removed."""
    for rule in all_rules():
        for number, example in enumerate(rule.examples):
            too_new = example.min_python and sys.version_info < example.min_python
            if not isinstance(example, Invalid) or too_new:
                continue
            for name, text in example.files().items():
                path = root / f"{rule.code}_{number}" / name
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(testing.without_marks(text) if name.endswith(".py") else text)


def test_fixing_everything_compiles_and_converges(run_cli: RunCli, tmp_path: Path) -> None:
    work = tmp_path / "work"
    shutil.copytree(ROOT / "fixtures", work / "fixtures")
    _write_examples(work / "examples")
    before = {path: path.read_bytes() for path in work.rglob("*.py")}
    fix = ("check", "--isolated", "--select", "ALL", "--fix", "--unsafe-fixes", "--exit-zero")
    first = run_cli(*fix, "work")
    assert first.returncode == 0, first.stderr
    changed = [path for path, data in before.items() if path.read_bytes() != data]
    assert len(changed) >= 30  # the fixable rules' examples (35 today) and the fixtures
    for path in changed:
        compile(path.read_bytes(), str(path), "exec", dont_inherit=True)
    again = run_cli("check", "--isolated", "--select", "ALL", "--unsafe-fixes", "--diff", "work")
    assert (again.returncode, again.stdout) == (0, ""), again.stdout[:2000]
