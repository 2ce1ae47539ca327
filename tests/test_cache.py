"""The content cache: reused when nothing it depends on changed, and only then."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from asynclint import cache, cachedir, index
from asynclint.diagnostic import Applicability, Diagnostic, Edit, Fix
from tests.conftest import ROOT, RunCli

TASK = "import asyncio\n\n\nasync def f(c):\n    asyncio.create_task(c())\n"
TASK_FINDING = (
    "ASL102 `asyncio.create_task(...)` result is discarded; the task can be "
    "garbage-collected before it finishes"
)
STORE = "import time\n\n\nclass Store:\n    def save(self):\n        pass\n"
APP = "from store import Store\n\n\nasync def main():\n    Store().save()\n"
UNAWAITED = "app.py:5:5: ASL101 coroutine `Store().save(...)` is never awaited"


@pytest.fixture
def check(run_cli: RunCli, tmp_path: Path) -> RunCli:
    """`check(*args)`: concise output, the cache in tmp_path/cache, run in tmp_path/project
    (no configuration file above it)."""
    (tmp_path / "project").mkdir()

    def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
        options = ["--format", "concise", "--cache-dir", str(tmp_path / "cache")]
        return run_cli("check", *options, *args, cwd=cwd or tmp_path / "project")

    return run


def findings(done: subprocess.CompletedProcess[str]) -> list[str]:
    return [line for line in done.stdout.splitlines() if ": ASL" in line]


def mark_stored_findings(cache_dir: Path) -> None:
    """Prefix every stored finding's message with "cached: ", so a reused one shows; the run
    records go (they would answer before any entry is read: tests/test_replay.py)."""
    for record in (cache_dir / "runs").glob("*.json"):
        record.unlink()
    for entry in (cache_dir / "results").glob("*.json"):
        data = json.loads(entry.read_text())
        for diagnostic in data["diagnostics"]:
            diagnostic["message"] = "cached: " + diagnostic["message"]
        entry.write_text(json.dumps(data))


def write(folder: Path, **files: str) -> None:
    for name, text in files.items():
        (folder / f"{name}.py").write_text(text)


def test_a_second_run_reuses_the_findings(check: RunCli, tmp_path: Path) -> None:
    write(tmp_path / "project", a=TASK)
    assert findings(check("a.py")) == [f"a.py:5:5: {TASK_FINDING}"]
    mark_stored_findings(tmp_path / "cache")
    again = check("a.py")
    assert findings(again) == [f"a.py:5:5: {TASK_FINDING.replace('ASL102 ', 'ASL102 cached: ')}"]
    assert again.returncode == 1


def test_an_edited_file_is_checked_again(check: RunCli, tmp_path: Path) -> None:
    write(tmp_path / "project", a=TASK)
    check("a.py")
    mark_stored_findings(tmp_path / "cache")
    write(tmp_path / "project", a="# edited\n" + TASK)
    assert findings(check("a.py")) == [f"a.py:6:5: {TASK_FINDING}"]


def test_other_rules_or_settings_are_checked_again(check: RunCli, tmp_path: Path) -> None:
    project = tmp_path / "project"
    write(project, a=TASK)
    check("a.py")
    mark_stored_findings(tmp_path / "cache")
    assert findings(check("--select", "ASL102", "a.py")) == [f"a.py:5:5: {TASK_FINDING}"]
    mark_stored_findings(tmp_path / "cache")
    (project / "pyproject.toml").write_text(
        '[tool.asynclint]\nextra-coroutine-functions = ["vendor.*"]\n'
    )
    assert findings(check("--select", "ASL102", "a.py")) == [f"a.py:5:5: {TASK_FINDING}"]


def test_making_a_method_async_rechecks_its_callers(check: RunCli, tmp_path: Path) -> None:
    project = tmp_path / "project"
    write(project, store=STORE, app=APP)
    assert findings(check(".")) == []
    write(project, store=STORE.replace("def save", "async def save"))
    assert findings(check(".")) == [UNAWAITED.replace("app.py", "./app.py")]


def test_a_module_read_lazily_is_watched_too(check: RunCli, tmp_path: Path) -> None:
    project = tmp_path / "project"
    write(project, store=STORE, app=APP)
    assert findings(check("app.py")) == []
    assert findings(check("app.py")) == []
    write(project, store=STORE.replace("def save", "async def save"))
    assert findings(check("app.py")) == [UNAWAITED]


def test_a_body_edit_rechecks_the_importers_and_nothing_else(check: RunCli, tmp_path: Path) -> None:
    project = tmp_path / "project"
    helper = "import time\n\n\ndef save():\n    pass\n"
    caller = "from helper import save\n\n\nasync def main():\n    save()\n"
    write(project, helper=helper, caller=caller, other=TASK)
    assert findings(check(".")) == [f"./other.py:5:5: {TASK_FINDING}"]
    mark_stored_findings(tmp_path / "cache")
    write(project, helper=helper.replace("    pass", "    time.sleep(1)"))
    assert findings(check(".")) == [
        "./caller.py:5:5: ASL307 `save(...)` blocks the event loop: `main → save → time.sleep`"
        " at helper.py:5; run it with `await asyncio.to_thread(...)` or make the chain async",
        f"./other.py:5:5: {TASK_FINDING.replace('ASL102 ', 'ASL102 cached: ')}",
    ]


def test_a_nested_import_rechecks_no_other_file(check: RunCli, tmp_path: Path) -> None:
    """What the first pass records besides the facts (an import inside a function) is no
    fact: the other files' findings stay valid."""
    project = tmp_path / "project"
    helpers = "def load(path):\n    return path\n"
    write(project, helpers=helpers, other=TASK)
    assert findings(check(".")) == [f"./other.py:5:5: {TASK_FINDING}"]
    mark_stored_findings(tmp_path / "cache")
    write(project, helpers=helpers.replace("    return", "    import json\n    return"))
    cached = TASK_FINDING.replace("ASL102 ", "ASL102 cached: ")
    assert findings(check(".")) == [f"./other.py:5:5: {cached}"]


def test_an_importer_that_read_nothing_of_the_edited_module_is_reused(
    check: RunCli, tmp_path: Path
) -> None:
    """Facts unchanged, and no check read the module's source: only the module is checked."""
    project = tmp_path / "project"
    helper = "LIMIT = 3\n\n\ndef save():\n    pass\n"
    caller = "import asyncio\nfrom helper import LIMIT\n\n\nasync def f(c):\n"
    write(project, helper=helper, caller=caller + "    asyncio.create_task(c(LIMIT))\n")
    assert findings(check(".")) == [f"./caller.py:6:5: {TASK_FINDING}"]
    mark_stored_findings(tmp_path / "cache")
    write(project, helper=helper.replace("    pass", "    return 1"))
    cached = TASK_FINDING.replace("ASL102 ", "ASL102 cached: ")
    assert findings(check(".")) == [f"./caller.py:6:5: {cached}"]


def test_a_checked_file_read_under_another_name_is_watched_once(
    check: RunCli, tmp_path: Path
) -> None:
    """pkg/ has no __init__.py: pkg/a.py is checked as module `a`, and the index reads it
    again as `pkg.a` for main.py (is `save` a coroutine function?). Editing its body
    re-checks it alone (ASL307, which would read the body, is not selected)."""
    project = tmp_path / "project"
    (project / "pkg").mkdir()
    (project / "pkg" / "a.py").write_text("def save():\n    pass\n")
    main = "import asyncio\nimport pkg.a\n\n\nasync def f(c):\n    pkg.a.save()\n"
    write(project, main=main + "    asyncio.create_task(c())\n")
    assert findings(check("--select", "ASL101,ASL102", "pkg/a.py", "main.py")) == [
        f"main.py:7:5: {TASK_FINDING}"
    ]
    mark_stored_findings(tmp_path / "cache")
    (project / "pkg" / "a.py").write_text("def save():\n    return 1\n")
    cached = TASK_FINDING.replace("ASL102 ", "ASL102 cached: ")
    assert findings(check("--select", "ASL101,ASL102", "pkg/a.py", "main.py")) == [
        f"main.py:7:5: {cached}"
    ]


def test_a_remembered_answer_carries_what_it_read(check: RunCli, tmp_path: Path) -> None:
    """One worker answers "does `save` block?" once, for one caller, and reuses the answer
    for the other: both depend on helper.py (checked too, so its facts are in the key, and
    they do not change)."""
    project = tmp_path / "project"
    helper = "import time\n\n\ndef save():\n    time.sleep(1)\n"
    caller = "from helper import save\n\n\nasync def main():\n    save()\n"
    write(project, helper=helper, first=caller, second=caller)
    assert len(findings(check("--jobs", "1", "."))) == 2
    mark_stored_findings(tmp_path / "cache")
    write(project, helper=helper.replace("time.sleep(1)", "time.time()"))
    assert findings(check("--jobs", "1", ".")) == []


def test_corrupt_or_foreign_entries_are_ignored_and_rebuilt(check: RunCli, tmp_path: Path) -> None:
    write(tmp_path / "project", a=TASK)
    check("a.py")
    entries = sorted((tmp_path / "cache").glob("[fr]*s/*.json"))
    assert [entry.parent.name for entry in entries] == ["facts", "results"]
    entries[0].write_bytes(b'{"key": "\x00 truncated')
    entries[1].write_text(json.dumps({"key": 1, "diagnostics": "?"}))
    assert findings(check("a.py")) == [f"a.py:5:5: {TASK_FINDING}"]
    assert all(isinstance(json.loads(e.read_text())["key"], str) for e in entries)
    mark_stored_findings(tmp_path / "cache")
    assert "cached: " in check("a.py").stdout


def test_a_folder_that_is_not_a_cache_is_left_alone(check: RunCli, tmp_path: Path) -> None:
    write(tmp_path / "project", a=TASK)
    (tmp_path / "cache").mkdir()
    (tmp_path / "cache" / "notes.txt").write_text("mine\n")
    done = check("a.py")
    assert findings(done) == [f"a.py:5:5: {TASK_FINDING}"]
    assert done.stderr == (
        f"asynclint: warning: {tmp_path / 'cache'} exists and is not an asynclint cache; "
        "running without the cache\n"
    )
    assert [p.name for p in (tmp_path / "cache").iterdir()] == ["notes.txt"]


def test_no_cache_neither_reads_nor_writes(check: RunCli, tmp_path: Path) -> None:
    write(tmp_path / "project", a=TASK)
    assert findings(check("--no-cache", "a.py")) == [f"a.py:5:5: {TASK_FINDING}"]
    assert not (tmp_path / "cache").exists()
    check("a.py")
    mark_stored_findings(tmp_path / "cache")
    assert findings(check("--no-cache", "a.py")) == [f"a.py:5:5: {TASK_FINDING}"]


def test_clean_removes_only_a_cache(run_cli: RunCli, check: RunCli, tmp_path: Path) -> None:
    write(tmp_path / "project", a=TASK)
    check("a.py")
    folder = tmp_path / "cache"
    removed = run_cli("clean", "--cache-dir", str(folder))
    assert (removed.returncode, removed.stdout) == (0, "Removed cache\n")
    assert not folder.exists()
    again = run_cli("clean", "--cache-dir", "cache", cwd=tmp_path / "project")
    assert (again.returncode, again.stdout) == (0, "No cache at cache\n")
    folder.mkdir()
    refused = run_cli("clean", "--cache-dir", str(folder))
    assert refused.returncode == 2
    assert refused.stderr == (
        f"asynclint: error: {folder} is not an asynclint cache (no CACHEDIR.TAG); not removed\n"
    )
    assert folder.exists()


def test_where_the_cache_goes(
    run_cli: RunCli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(cachedir.ENVIRONMENT_VARIABLE)
    write(tmp_path, a=TASK)
    run_cli("check", "a.py")
    assert (tmp_path / ".asynclint_cache" / ".gitignore").read_text() == (
        "# created by asynclint\n*\n"
    )
    assert (
        (tmp_path / ".asynclint_cache" / "CACHEDIR.TAG")
        .read_text()
        .startswith("Signature: 8a477f597d28d172789f06886806bc55\n")
    )
    assert run_cli("clean").stdout == "Removed .asynclint_cache\n"
    (tmp_path / "pyproject.toml").write_text('[tool.asynclint]\ncache-dir = "build/lint"\n')
    run_cli("check", "a.py")
    assert (tmp_path / "build" / "lint" / "CACHEDIR.TAG").is_file()
    assert not (tmp_path / ".asynclint_cache").exists()
    monkeypatch.setenv(cachedir.ENVIRONMENT_VARIABLE, str(tmp_path / "from-env"))
    run_cli("check", "a.py")
    run_cli("check", "--cache-dir", "from-option", "a.py")
    names = ["a.py", "build", "from-env", "from-option", "pyproject.toml"]
    assert sorted(p.name for p in tmp_path.iterdir()) == names


def test_concurrent_runs_share_the_cache(tmp_path: Path) -> None:
    project = tmp_path / "project"
    project.mkdir()
    for number in range(30):
        write(project, **{f"m{number}": "# padding\n" * number + TASK})
    command = [sys.executable, "-m", "asynclint", "check", "--isolated", "--format", "concise"]
    command += ["--cache-dir", str(tmp_path / "cache"), "--jobs", "2", "."]
    runs = [
        subprocess.Popen(command, cwd=project, stdout=subprocess.PIPE, text=True) for _ in range(3)
    ]
    outputs = [run.communicate(timeout=300)[0] for run in runs]
    expected = subprocess.run([*command, "--no-cache"], cwd=project, capture_output=True, text=True)
    assert outputs == [expected.stdout] * 3
    assert expected.stdout.count("ASL102") == 30
    leftovers = [p.name for p in (tmp_path / "cache").rglob("*") if p.name.endswith(".tmp")]
    assert leftovers == []
    for entry in (tmp_path / "cache").glob("*/*.json"):
        assert isinstance(json.loads(entry.read_text())["key"], str)


# --- the pieces ----------------------------------------------------------------------------


def test_facts_and_findings_survive_the_round_trip() -> None:
    for path in sorted((ROOT / "fixtures").rglob("*.py")):
        facts = index.facts_for(str(path))
        assert cache.decode(index.ModuleFacts | None, cache.encode(facts)) == facts
    fix = Fix(Applicability.UNSAFE, "Await it", (Edit(1, 2, 1, 3, "await "),), ("asyncio",))
    diagnostic = Diagnostic("x.py", 1, 2, 1, 9, "ASL101", "unawaited-coroutine", "m", fix)
    assert cache.decode(Diagnostic, json.loads(json.dumps(cache.encode(diagnostic)))) == diagnostic
    with pytest.raises(ValueError, match="expected int"):
        cache.decode(Diagnostic, {"path": "x.py", "line": "1"})


def test_keys_change_with_asynclint_itself(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(tmp_path, a=TASK)
    store = cachedir.Store(tmp_path / "cache")
    store.prepare()
    session = cache.Session(store)
    session.indexed = {str(tmp_path / "a.py"): cache.index_module(str(tmp_path / "a.py"), store)}
    project = index.ProjectIndex([e.facts for e in session.indexed.values() if e.facts])
    before = session.keys(project)
    session.finish()
    assert session.keys(project) == before
    monkeypatch.setattr(cache, "code_fingerprint", lambda: "another version")
    assert session.keys(project).keys() == before.keys()
    assert session.keys(project) != before


def test_a_failed_write_leaves_no_temporary_file(tmp_path: Path) -> None:
    (tmp_path / "entry").mkdir()
    with pytest.raises(OSError):
        cachedir._write_atomic(tmp_path / "entry", "text")
    assert [p.name for p in tmp_path.iterdir()] == ["entry"]


ASYNC_TEST = "async def test_x():\n    assert True\n"
STRICT_FINDING = (
    "test_a.py:1:11: ASL503 async test `test_x` has no `@pytest.mark.asyncio`: "
    "pytest-asyncio's strict mode does not run it"
)


def test_pytest_configuration_and_conftests_are_part_of_the_key(
    check: RunCli, tmp_path: Path
) -> None:
    project = tmp_path / "project"
    write(project, test_a=ASYNC_TEST)
    (project / "pytest.ini").write_text("[pytest]\nasyncio_mode = strict\n")
    assert findings(check("test_a.py")) == [STRICT_FINDING]
    mark_stored_findings(tmp_path / "cache")
    (project / "pytest.ini").write_text("[pytest]\nasyncio_mode = auto\n")
    assert findings(check("test_a.py")) == []
    (project / "pytest.ini").write_text("[pytest]\nasyncio_mode = strict\n")
    assert findings(check("test_a.py")) == [STRICT_FINDING]
    write(project, conftest="def pytest_pyfunc_call(pyfuncitem):\n    return None\n")
    assert findings(check("test_a.py")) == []
