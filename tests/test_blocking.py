"""The blocking-call table and what the rule examples cannot show: the table is plain data
the sanitizer can import, every type in it leads somewhere, and ASL306's options are
validated like every other rule option."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from asynclint.config import ConfigError, load_config
from asynclint.diagnostic import Edit
from asynclint.engine import check_source
from asynclint.knowledge import blocking
from asynclint.registry import get_rule

CODES = {"ASL301", "ASL302", "ASL303", "ASL304", "ASL305"}


def _entries() -> list[tuple[str, blocking.Blocking]]:
    found = list(blocking.FUNCTIONS.items())
    for kind, methods in blocking.METHODS.items():
        found += [(f"{kind}.{name}", entry) for name, entry in methods.items()]
    return found


def test_the_table_imports_without_libcst() -> None:
    """The sanitizer reads it at interpreter start-up, where LibCST has no business."""
    code = (
        "import sys; import asynclint.knowledge.blocking; "
        "print(sorted(m for m in sys.modules if m.startswith(('libcst', 'asynclint'))))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "['asynclint', 'asynclint.knowledge', 'asynclint.knowledge.blocking']"


def test_every_entry_belongs_to_a_rule_and_names_a_replacement() -> None:
    problems = [
        name
        for name, entry in _entries()
        if entry.code not in CODES
        or entry.instead.count("`") < 2
        or not all(unless.keyword.isidentifier() for unless in entry.unless)
    ]
    assert problems == []
    assert {get_rule(code).name.split("-")[0] for code in CODES} == {"blocking"}


def test_every_known_type_has_blocking_methods_or_leads_to_one() -> None:
    produced = {
        *blocking.TYPE_ALIASES.values(),
        *blocking.RETURN_TYPES.values(),
        *(t for methods in blocking.METHOD_RETURN_TYPES.values() for t in methods.values()),
    }
    useful = set(blocking.METHODS) | set(blocking.METHOD_RETURN_TYPES)
    assert produced - useful == set()
    assert set(blocking.METHODS) - produced == set()


def _findings(code: str, source: str) -> list[tuple[int, int, str]]:
    text = textwrap.dedent(source)
    return [
        (d.line, d.column, d.message) for d in check_source(text, "example.py", {code}, {code: {}})
    ]


def test_message_names_the_call_and_the_replacement() -> None:
    found = _findings(
        "ASL305",
        """
        import queue

        jobs = queue.Queue()

        async def consume():
            with_a_very_long_receiver_name_that_goes_on_and_on_and_on = jobs
            with_a_very_long_receiver_name_that_goes_on_and_on_and_on.get()
            jobs.put(1, timeout=5)
        """,
    )
    assert found == [
        (
            8,
            5,
            "`….get()` blocks the event loop; use `asyncio.Queue`, or "
            "`await asyncio.to_thread(...)` when threads share the queue",
        ),
        (
            9,
            5,
            "`jobs.put(...)` blocks the event loop; use `asyncio.Queue`, or "
            "`await asyncio.to_thread(...)` when threads share the queue",
        ),
    ]


def test_a_with_item_that_is_also_a_call_is_judged_in_both_roles() -> None:
    """`with open(...)` is a blocking call; `with lock` is a blocking `with`: one node,
    two questions, answered separately."""
    source = """
        import threading

        async def main(path):
            with open(path) as f, threading.Lock():
                pass
        """
    assert [f[:2] for f in _findings("ASL304", source)] == [(5, 10)]
    assert [f[:2] for f in _findings("ASL305", source)] == [(5, 27)]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            'hints = { "a.*" = 3 }',
            "hints: expected a table of strings, got table",
        ),
        ('hints = ["a.*"]', "hints: expected a table of strings, got array"),
        ("blocking-calls = [1]", "blocking-calls: expected a list of strings, got array"),
    ],
)
def test_configured_rule_options_are_validated(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, body: str, message: str
) -> None:
    monkeypatch.chdir(tmp_path)
    file = tmp_path / "pyproject.toml"
    file.write_text(f"[tool.asynclint.rules.blocking-call-configured]\n{body}\n")
    with pytest.raises(ConfigError) as raised:
        load_config(file)
    assert str(raised.value) == (
        f"pyproject.toml: [tool.asynclint.rules.blocking-call-configured] {message}"
    )


def test_configured_rule_reads_its_options_from_the_configuration(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    file = tmp_path / "pyproject.toml"
    file.write_text(
        "[tool.asynclint.rules.blocking-call-configured]\n"
        'blocking-calls = ["vendor.*"]\n'
        'hints = { "vendor.fetch" = "`await vendor.aio.fetch()`" }\n'
    )
    options = load_config(file).rule_options
    source = "import vendor\n\nasync def main():\n    vendor.fetch()\n    vendor.store(1)\n"
    found = [(d.line, d.message) for d in check_source(source, "example.py", {"ASL306"}, options)]
    assert found == [
        (
            4,
            "`vendor.fetch()` is configured as blocking (`vendor.*`); "
            "use `await vendor.aio.fetch()`",
        ),
        (
            5,
            "`vendor.store(...)` is configured as blocking (`vendor.*`); "
            "use `await asyncio.to_thread(...)`",
        ),
    ]


def test_sleep_is_fixed_only_where_an_await_fits_and_asyncio_is_the_module() -> None:
    source = textwrap.dedent(
        """
        import time

        async def main():
            time.sleep(1)
            done = time.sleep(2)

        async def shadowed(asyncio):
            time.sleep(3)
        """
    )
    found = check_source(source, "example.py", {"ASL301"}, {"ASL301": {}})
    fixes = [(d.line, None if d.fix is None else (d.fix.edits, d.fix.imports)) for d in found]
    assert fixes == [
        (5, ((Edit(5, 5, 5, 18, "await asyncio.sleep(1)"),), ("asyncio",))),
        (6, None),
        (9, None),
    ]
