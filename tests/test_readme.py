"""The README opens as promised and shows what `asynclint check fixtures/` really prints."""

from __future__ import annotations

import re

from tests.conftest import ROOT, RunCli

README = (ROOT / "README.md").read_text(encoding="utf-8")
BLOCKS = re.findall(r"^```(\w*)\n(.*?)^```$", README, flags=re.MULTILINE | re.DOTALL)


def test_three_lines_of_what_it_is_then_the_two_setup_commands() -> None:
    title, intro, commands = README.split("\n\n", 3)[:3]
    assert title == "# asynclint"
    assert len(intro.splitlines()) == 3
    assert intro.startswith("asynclint finds asyncio bugs")
    install, test = commands.removeprefix("```bash\n").removesuffix("\n```").splitlines()
    assert install.startswith('python3 -m venv .venv && .venv/bin/pip install -e ".[test]"')
    assert install.endswith(" && .venv/bin/asynclint check fixtures/")
    assert test == ".venv/bin/python -m pytest"


def test_sample_output_is_what_the_fixtures_give(run_cli: RunCli) -> None:
    samples = [body for kind, body in BLOCKS if kind == "text" and body.startswith("fixtures/")]
    assert samples
    done = run_cli("check", "fixtures/", cwd=ROOT)
    assert done.returncode == 1
    for sample in samples:
        assert sample in done.stdout
