"""What the index knows beyond the checked files: the rest of the project, another
interpreter's packages, and the configured resolution lists, through the real CLI."""

from __future__ import annotations

import json
import sys
import textwrap
from pathlib import Path

from tests.conftest import ROOT, RunCli

PROJECT = ROOT / "tests" / "data" / "project"
NEVER_AWAITED = "coroutine `{}(...)` is never awaited"


def write(root: Path, files: dict[str, str]) -> None:
    for name, body in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(body))


def findings(done_stdout: str) -> list[tuple[str, int, str, str]]:
    return [
        (Path(d["path"]).name, d["line"], d["code"], d["message"]) for d in json.loads(done_stdout)
    ]


def test_one_file_is_resolved_like_the_whole_project(run_cli: RunCli) -> None:
    service = PROJECT / "src" / "shop" / "service.py"
    alone = run_cli("check", "--isolated", "--format", "json", str(service))
    everything = run_cli("check", "--isolated", "--format", "json", str(PROJECT))
    expected = [f for f in findings(everything.stdout) if f[0] == "service.py"]
    assert len(expected) == 9
    assert findings(alone.stdout) == expected


def test_namespace_packages_resolve_from_the_project_root(run_cli: RunCli, tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "pyproject.toml": "[project]\nname = 'app'\n",
            "src/vendor/store/api.py": "async def fetch(): ...\n",
            "app/main.py": """
                from vendor.store.api import fetch

                def refresh():
                    fetch()
            """,
        },
    )
    done = run_cli("check", "--isolated", "--format", "json", "app/main.py", cwd=tmp_path)
    assert findings(done.stdout) == [("main.py", 5, "ASL101", NEVER_AWAITED.format("fetch"))]


def test_python_option_reads_that_interpreters_packages(run_cli: RunCli, tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "site/extlib/__init__.py": "async def connect(): ...\n",
            "app.py": "import extlib\n\ndef start():\n    extlib.connect()\n",
        },
    )
    python = tmp_path / "python-with-extlib"
    python.write_text(f'#!/bin/sh\nPYTHONPATH={tmp_path / "site"} exec {sys.executable} "$@"\n')
    python.chmod(0o755)
    assert findings(run_cli("check", "--isolated", "--format", "json", "app.py").stdout) == []
    done = run_cli("check", "--isolated", "--format", "json", "--python", str(python), "app.py")
    message = NEVER_AWAITED.format("extlib.connect")
    assert findings(done.stdout) == [("app.py", 4, "ASL101", message)]


def test_python_from_configuration_is_relative_to_its_file(run_cli: RunCli, tmp_path: Path) -> None:
    write(tmp_path, {"pyproject.toml": "[tool.asynclint]\npython = 'bin/none'\n", "a.py": ""})
    done = run_cli("check", "a.py", cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr == f"asynclint: error: python `{tmp_path}/bin/none`: no such interpreter\n"


def test_unusable_python_is_a_one_line_error(run_cli: RunCli, tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text("")
    broken = tmp_path / "broken"
    broken.write_text("#!/bin/sh\necho nonsense\n")
    broken.chmod(0o755)
    done = run_cli("check", "--isolated", "--python", str(broken), "a.py")
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr == f"asynclint: error: python `{broken}`: did not report its sys.path\n"


def test_configured_resolution_lists(run_cli: RunCli, tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "pyproject.toml": """
                [tool.asynclint]
                extra-coroutine-functions = ["generated.api.*_async"]
                transparent-decorators = ["retrying.*"]
                sync-decorators = ["retrying.blocking"]
            """,
            "app.py": """
                import generated.api
                import retrying

                @retrying.retry(times=3)
                async def fetch(): ...

                @retrying.blocking
                async def fetch_now(): ...

                @unknown_decorator
                async def fetch_later(): ...

                def main():
                    generated.api.get_async()
                    generated.api.get()
                    fetch()
                    fetch_now()
                    fetch_later()
            """,
        },
    )
    done = run_cli("check", "--format", "json", "app.py", cwd=tmp_path)
    assert findings(done.stdout) == [
        ("app.py", 15, "ASL101", NEVER_AWAITED.format("generated.api.get_async")),
        ("app.py", 17, "ASL101", NEVER_AWAITED.format("fetch")),
    ]
    assert done.returncode == 1
