"""The fix framework, driven by small test-only rules registered in-process."""

from __future__ import annotations

import os
import stat
import sys
from collections.abc import Iterator
from pathlib import Path

import libcst as cst
import pytest

from asynclint import cli, engine, fixer, registry, testing
from asynclint.diagnostic import Applicability, Diagnostic, Edit, Fix
from asynclint.engine import FileJob, FileResult, check_file, check_source
from asynclint.fixer import FixRequest
from asynclint.rule import Autofix, InsertAfter, Invalid, Replace, Rule
from tests.conftest import ROOT

REAL_CODES = frozenset(rule.code for rule in registry.all_rules())


class Reraise(Rule):
    """An ``except`` body that does not end in ``raise`` gets one (unsafe)."""

    code = "ASL991"
    name = "test-reraise"
    message = "handler does not re-raise"
    fix_title = "Re-raise"
    fix_applicability = Applicability.UNSAFE

    def visit_ExceptHandler(self, node: cst.ExceptHandler) -> None:
        last = node.body.body[-1]
        if isinstance(last, cst.SimpleStatementLine):
            last_small: cst.CSTNode = last.body[-1]
        else:
            last_small = last
        if not isinstance(last_small, cst.Raise):
            self.report(node, fix=Autofix(InsertAfter(last, "raise")))


class RunningLoop(Rule):
    """``x.get_event_loop()`` becomes ``x.get_running_loop()`` (safe)."""

    code = "ASL992"
    name = "test-running-loop"
    message = "`get_event_loop()`"
    fix_title = "Use `get_running_loop()`"
    fix_applicability = Applicability.SAFE

    def visit_Attribute(self, node: cst.Attribute) -> None:
        if node.attr.value == "get_event_loop":
            self.report(node.attr, fix=Autofix(Replace(node.attr, cst.Name("get_running_loop"))))


class Replacer(Rule):
    """A name from :data:`REPLACEMENTS` is replaced by its text: fixes that break files."""

    code = "ASL993"
    name = "test-replacer"
    message = "`{name}`"
    fix_title = "Replace it"
    fix_applicability = Applicability.SAFE

    def visit_Name(self, node: cst.Name) -> None:
        if node.value in REPLACEMENTS:
            fix = Autofix(Replace(node, REPLACEMENTS[node.value]))
            self.report(node, fix=fix, name=node.value)


REPLACEMENTS = {
    "BREAK": "(",
    "AWAIT_IN_SYNC": "await x",
    "SNOWMAN": "'\N{SNOWMAN}'",
    "GROW": "(GROW)",
}


class Rename(Rule):
    """``old(...)`` becomes ``new(...)``: the span of the name only."""

    code = "ASL994"
    name = "test-rename"
    message = "`old`"
    fix_title = "Rename"
    fix_applicability = Applicability.SAFE

    def visit_Call(self, node: cst.Call) -> None:
        if isinstance(node.func, cst.Name) and node.func.value == "old":
            self.report(node, fix=Autofix(Replace(node.func, cst.Name("new"))))


class Pause(Rule):
    """A ``pause()``/``old()``/``new()`` statement becomes ``await asyncio.sleep(0)``, which
    needs ``import asyncio``; the whole call's span overlaps :class:`Rename`'s fix."""

    code = "ASL995"
    name = "test-pause"
    message = "pause"
    fix_title = "Sleep"
    fix_applicability = Applicability.SAFE

    def visit_Expr(self, node: cst.Expr) -> None:
        call = node.value
        if not (isinstance(call, cst.Call) and isinstance(call.func, cst.Name)):
            return
        if call.func.value in ("pause", "old", "new"):
            new = cst.parse_expression("await asyncio.sleep(0)")
            self.report(call, fix=Autofix(Replace(call, new), imports=["asyncio"]))


class Checkpoint(Rule):
    """``while spin:`` becomes ``while running:`` with a statement after the loop, given as
    text with a multi-line string: one fix, two changes."""

    code = "ASL996"
    name = "test-checkpoint"
    message = "loop"
    fix_title = "Checkpoint"
    fix_applicability = Applicability.SAFE

    def visit_While(self, node: cst.While) -> None:
        if isinstance(node.test, cst.Name) and node.test.value == "spin":
            after = InsertAfter(node, 'if done:\n    log("""a\nb""")')
            self.report(node, fix=Autofix(after, Replace(node.test, cst.Name("running"))))


TEST_RULES: tuple[type[Rule], ...] = (Reraise, RunningLoop, Replacer, Rename, Pause, Checkpoint)


@pytest.fixture
def extra_rules(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The test rules join the registry (for selection, checking and rendering)."""
    rules = registry.all_rules() + TEST_RULES
    for module in (registry, engine, cli):
        monkeypatch.setattr(module, "all_rules", lambda: rules)
    registry.rules_by_key.cache_clear()
    yield
    registry.rules_by_key.cache_clear()


pytestmark = pytest.mark.usefixtures("extra_rules")


def fix_file(path: Path, *codes: str, unsafe: bool = True, diff: bool = False) -> FileResult:
    job = FileJob(str(path), frozenset(codes), fix=FixRequest(unsafe, diff))
    return check_file(job)


def fix_text(source: str, *codes: str, unsafe: bool = True) -> tuple[str, FileResult]:
    result = check_file(
        FileJob("x.py", frozenset(codes), data=source.encode(), fix=FixRequest(unsafe))
    )
    assert result.error is None and result.fix is not None
    output = result.fix.output
    return (source if output is None else output.decode()), result


HANDLERS = """\
async def f():
    try:
        x = 1  # c
    except E:  # e
        log(); b  # t
    except F: pass
    except G:
        if y:
            z = 1  # zz

    # own line
    return 1
"""


def test_a_reported_fix_is_edits_in_the_diagnostic() -> None:
    [found] = check_source("loop = asyncio.get_event_loop()\n", "x.py", {"ASL992"})
    assert found.fix == Fix(
        Applicability.SAFE,
        "Use `get_running_loop()`",
        (Edit(1, 16, 1, 30, "get_running_loop"),),
    )


def test_a_fix_without_its_rule_s_applicability_is_a_rule_error() -> None:
    class NoApplicability(Rule):
        code = "ASL998"
        name = "test-no-applicability"
        message = "m"
        fix_title = "t"

        def visit_Pass(self, node: cst.Pass) -> None:
            self.report(node, fix=Autofix(Replace(node, "...")))

    with pytest.raises(TypeError, match="ASL998 reports a fix without a title or applicability"):
        engine.analyse(cst.parse_module("pass\n"), "x.py", [NoApplicability], {}, ["pass", ""])


def test_insert_after_statements_and_small_statements() -> None:
    fixed, result = fix_text(HANDLERS, "ASL991")
    assert fixed == (
        "async def f():\n"
        "    try:\n"
        "        x = 1  # c\n"
        "    except E:  # e\n"
        "        log(); b  # t\n"
        "        raise\n"
        "    except F: pass; raise\n"
        "    except G:\n"
        "        if y:\n"
        "            z = 1  # zz\n"
        "        raise\n"
        "\n"
        "    # own line\n"
        "    return 1\n"
    )
    assert result.fix is not None and result.fix.fixed == 3
    assert result.diagnostics == []


def test_inserted_statements_are_indented_but_their_strings_are_not() -> None:
    fixed, result = fix_text("def f():\n\twhile spin:\n\t\tpass\n", "ASL996")
    assert fixed == 'def f():\n\twhile running:\n\t\tpass\n\tif done:\n\t\tlog("""a\nb""")\n'
    assert result.fix is not None and result.fix.fixed == 1


def test_statements_are_inserted_at_the_top_level_too() -> None:
    fixed, result = fix_text("# head\nwhile spin:  # c\n    pass\nx = 1\n", "ASL996")
    assert fixed == '# head\nwhile running:  # c\n    pass\nif done:\n    log("""a\nb""")\nx = 1\n'
    assert result.fix is not None and result.fix.fixed == 1


def test_replace_keeps_parentheses_and_comments() -> None:
    fixed, _ = fix_text("x = (  # keep\n    loop.get_event_loop  # too\n)()\n", "ASL992")
    assert fixed == "x = (  # keep\n    loop.get_running_loop  # too\n)()\n"


def test_imports_are_added_once_after_the_existing_ones() -> None:
    source = '"""Doc."""\nimport os\n\nasync def f():\n    pause()\n    pause()\n'
    fixed, result = fix_text(source, "ASL995")
    assert fixed == (
        '"""Doc."""\nimport os\nimport asyncio\n\n'
        "async def f():\n    await asyncio.sleep(0)\n    await asyncio.sleep(0)\n"
    )
    assert result.fix is not None and result.fix.fixed == 2


def test_an_import_that_is_there_is_not_added_again() -> None:
    source = "import asyncio\n\nasync def f():\n    pause()\n"
    fixed, _ = fix_text(source, "ASL995")
    assert fixed == "import asyncio\n\nasync def f():\n    await asyncio.sleep(0)\n"


def test_overlapping_fixes_apply_in_position_order_over_rounds() -> None:
    # Both fixes start at `old`: the rename (ASL994 sorts first) wins round one, the
    # whole-call replacement waits for round two and then applies to `new()`.
    fixed, result = fix_text("async def f():\n    old()\n", "ASL994", "ASL995")
    assert fixed == "import asyncio\n\nasync def f():\n    await asyncio.sleep(0)\n"
    assert result.fix is not None and result.fix.fixed == 2


def test_select_skips_fixes_that_touch_a_chosen_one() -> None:
    def finding(column: int, end: int, code: str) -> Diagnostic:
        fix = Fix(Applicability.SAFE, "t", (Edit(1, column, 1, end, "x"),))
        return Diagnostic("x.py", 1, column, 1, end, code, "n", "m", fix)

    first, touching, later = finding(1, 5, "ASL1"), finding(5, 6, "ASL2"), finding(6, 7, "ASL3")
    assert fixer.select([later, touching, first], unsafe=False) == [first, later]


def test_a_fix_that_keeps_finding_more_stops_at_the_round_limit() -> None:
    fixed, result = fix_text("GROW\n", "ASL993")
    assert fixed == "(" * fixer.MAX_ROUNDS + "GROW" + ")" * fixer.MAX_ROUNDS + "\n"
    assert result.fix is not None and result.fix.fixed == fixer.MAX_ROUNDS
    assert [d.message for d in result.diagnostics] == ["`GROW`"]


def test_only_safe_fixes_unless_unsafe_ones_are_asked_for() -> None:
    source = "try:\n    loop.get_event_loop()\nexcept E:\n    pass\n"
    fixed, result = fix_text(source, "ASL991", "ASL992", unsafe=False)
    assert fixed == "try:\n    loop.get_running_loop()\nexcept E:\n    pass\n"
    assert [d.code for d in result.diagnostics] == ["ASL991"]


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("BREAK", "the result would be invalid: '(' was never closed (line 2)"),
        ("AWAIT_IN_SYNC", "the result would be invalid: 'await' outside async function (line 2)"),
    ],
)
def test_a_fix_that_breaks_the_file_is_dropped_and_reported(
    tmp_path: Path, name: str, reason: str
) -> None:
    path = tmp_path / "x.py"
    original = f"def f():\n    {name}\n    loop.get_event_loop()\n".encode()
    path.write_bytes(original)
    result = fix_file(path, "ASL992", "ASL993")
    assert path.read_bytes() == original.replace(b"get_event_loop", b"get_running_loop")
    assert result.fix is not None
    assert result.fix.dropped == (f"{path}:2:5: ASL993 fix not applied, {reason}",)
    assert result.fix.fixed == 1
    assert [(d.code, d.line) for d in result.diagnostics] == [("ASL993", 2)]


def test_a_fix_the_file_s_encoding_cannot_hold_is_dropped(tmp_path: Path) -> None:
    path = tmp_path / "x.py"
    original = "# -*- coding: latin-1 -*-\nx = SNOWMAN\n".encode("latin-1")
    path.write_bytes(original)
    result = fix_file(path, "ASL993")
    assert path.read_bytes() == original
    assert result.fix is not None
    assert result.fix.dropped == (
        f"{path}:2:5: ASL993 fix not applied, the result would be invalid: "
        "cannot encode '\N{SNOWMAN}' as iso-8859-1",
    )


def test_crlf_line_endings_stay(tmp_path: Path) -> None:
    path = tmp_path / "x.py"
    path.write_bytes(b"try:\r\n    x = 1\r\nexcept E:\r\n    pass\r\n")
    fix_file(path, "ASL991")
    assert path.read_bytes() == b"try:\r\n    x = 1\r\nexcept E:\r\n    pass\r\n    raise\r\n"


def test_inserted_imports_use_crlf_too(tmp_path: Path) -> None:
    path = tmp_path / "x.py"
    path.write_bytes(b"async def f():\r\n    pause()\r\n")
    fix_file(path, "ASL995")
    assert path.read_bytes() == (
        b"import asyncio\r\n\r\nasync def f():\r\n    await asyncio.sleep(0)\r\n"
    )


def test_a_latin1_file_stays_latin1(tmp_path: Path) -> None:
    path = tmp_path / "x.py"
    text = "# -*- coding: latin-1 -*-\ns = 'été'; loop.get_event_loop()\n"
    path.write_bytes(text.encode("latin-1"))
    fix_file(path, "ASL992")
    assert path.read_bytes() == text.replace("get_event", "get_running").encode("latin-1")


def test_a_byte_order_mark_stays(tmp_path: Path) -> None:
    path = tmp_path / "x.py"
    path.write_bytes(b"\xef\xbb\xbfs = '\xc3\xa9'; loop.get_event_loop()\n")
    fix_file(path, "ASL992")
    assert path.read_bytes() == b"\xef\xbb\xbfs = '\xc3\xa9'; loop.get_running_loop()\n"


def test_a_missing_final_newline_stays_missing(tmp_path: Path) -> None:
    path = tmp_path / "x.py"
    path.write_bytes(b"try:\n    pass\nexcept E:\n    pass")
    fix_file(path, "ASL991")
    assert path.read_bytes() == b"try:\n    pass\nexcept E:\n    pass\n    raise"


def test_the_write_is_atomic_and_keeps_the_mode(tmp_path: Path) -> None:
    path = tmp_path / "tool.py"
    path.write_bytes(b"loop.get_event_loop()\n")
    path.chmod(0o755)
    result = fix_file(path, "ASL992")
    assert (result.error, path.read_bytes()) == (None, b"loop.get_running_loop()\n")
    assert stat.S_IMODE(path.stat().st_mode) == 0o755
    assert sorted(os.listdir(tmp_path)) == ["tool.py"]


def test_a_symbolic_link_stays_a_link_to_the_fixed_file(tmp_path: Path) -> None:
    target = tmp_path / "real.py"
    target.write_bytes(b"loop.get_event_loop()\n")
    link = tmp_path / "link.py"
    link.symlink_to(target.name)
    fix_file(link, "ASL992")
    assert link.is_symlink()
    assert target.read_bytes() == b"loop.get_running_loop()\n"


def test_a_file_that_changed_since_it_was_read_is_not_written(tmp_path: Path) -> None:
    path = tmp_path / "x.py"
    path.write_bytes(b"changed\n")
    error = fixer.write_atomic(str(path), b"new\n", expected=b"old\n")
    assert error == "not written: its bytes are not what was checked (changed meanwhile?)"
    assert path.read_bytes() == b"changed\n"
    assert sorted(os.listdir(tmp_path)) == ["x.py"]


def test_fixing_again_changes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "x.py"
    path.write_text(HANDLERS)
    first = fix_file(path, "ASL991", "ASL992")
    fixed = path.read_bytes()
    second = fix_file(path, "ASL991", "ASL992")
    assert first.fix is not None and first.fix.fixed == 3
    assert second.fix == fixer.FixOutcome(0)
    assert path.read_bytes() == fixed


def test_diff_writes_nothing_and_shows_the_change(tmp_path: Path) -> None:
    path = tmp_path / "x.py"
    path.write_bytes(b"a = 1\nloop.get_event_loop()")
    result = fix_file(path, "ASL992", diff=True)
    assert path.read_bytes() == b"a = 1\nloop.get_event_loop()"
    assert result.fix is not None
    assert result.fix.diff == (
        f"--- {path}\n+++ {path}\n@@ -1,2 +1,2 @@\n a = 1\n"
        "-loop.get_event_loop()\n\\ No newline at end of file\n"
        "+loop.get_running_loop()\n\\ No newline at end of file\n"
    )
    assert [d.line for d in result.diagnostics] == [2]


def test_the_rule_test_accepts_a_correct_fixed_example() -> None:
    example = Invalid(
        """
        try:
            pass
        except E:  # error: ASL991
            log()
        """,
        fixed="""
        try:
            pass
        except E:
            log()
            raise
        """,
    )
    assert testing.check_fix(Reraise, example) == []


def test_the_rule_test_reports_a_wrong_fixed_example() -> None:
    example = Invalid("x = loop.get_event_loop()  # error: ASL992", fixed="x = 1")
    assert testing.check_fix(RunningLoop, example) == [
        "the fixed text differs:\n--- expected\n+++ fixed\n@@ -1 +1 @@\n"
        "-x = 1\n+x = loop.get_running_loop()\n"
    ]


def test_the_rule_test_reports_a_fix_that_does_not_converge() -> None:
    grown = "(" * fixer.MAX_ROUNDS + "GROW" + ")" * fixer.MAX_ROUNDS
    example = Invalid("GROW  # error: ASL993", fixed=grown)
    assert testing.check_fix(Replacer, example) == [
        "still reports ASL993 at example.py:1 once fixed",
        "a second fix pass changed the fixed text",
    ]


def test_the_rule_test_reports_a_dropped_fix() -> None:
    example = Invalid(
        """
        def f():
            AWAIT_IN_SYNC  # error: ASL993
        """,
        fixed="x",
    )
    assert testing.check_fix(Replacer, example) == [
        "example.py:2:5: ASL993 fix not applied, the result would be invalid: "
        "'await' outside async function (line 2)",
        "the fixed text differs:\n--- expected\n+++ fixed\n@@ -1 +1,2 @@\n"
        "-x\n+def f():\n+    AWAIT_IN_SYNC\n",
    ]


def _fix_all(path: str, data: bytes) -> bytes:
    job = FileJob(path, REAL_CODES, data=data, fix=FixRequest(unsafe=True))
    result = check_file(job)
    assert result.error is None, path
    if result.fix is None:  # not checked at all (ASL900)
        return data
    assert result.fix.dropped == (), path
    return data if result.fix.output is None else result.fix.output


def _compiles(data: bytes) -> bool:
    try:
        compile(data, "x.py", "exec", dont_inherit=True)
    except (SyntaxError, ValueError):
        return False
    return True


def _every_file() -> Iterator[tuple[str, bytes]]:
    for path in sorted((ROOT / "fixtures").rglob("*.py")):
        yield str(path.relative_to(ROOT)), path.read_bytes()
    for rule in registry.all_rules():
        for index, example in enumerate(rule.examples):
            if example.min_python and sys.version_info < example.min_python:
                continue
            for name, text in example.files().items():
                yield f"{rule.code}-{index}/{name}", text.encode()


def test_every_fixture_and_rule_example_fixes_to_valid_stable_code() -> None:
    changed = []
    for path, data in _every_file():
        fixed = _fix_all(path, data)
        if fixed == data:
            continue
        changed.append(path)
        assert _compiles(fixed) or not _compiles(data), path
        assert _fix_all(path, fixed) == fixed, path
    assert changed, "no file was fixed: the test checks nothing"
