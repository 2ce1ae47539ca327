"""Configuration: discovery, explicit files, validation messages, selection, globs."""

from __future__ import annotations

import pickle
import re
import sys
import textwrap
from pathlib import Path

import pytest

from asynclint import config as config_module
from asynclint import registry
from asynclint.config import (
    DEFAULT_EXCLUDE,
    Config,
    ConfigError,
    ConfigResolver,
    Selection,
    compile_globs,
    enabled_codes,
    find_config,
    ignored_for,
    load_config,
)
from asynclint.rule import Option, Rule


class DanglingTask(Rule):
    code = "ASL102"
    name = "dangling-task"
    options = (
        Option("extra-spawners", [], "More task-spawning calls."),
        Option("max-depth", 3, "How deep to look."),
    )


class BlockingSleep(Rule):
    code = "ASL301"
    name = "blocking-sleep"


class ExperimentalRule(Rule):
    code = "ASL901"
    name = "experimental-rule"
    default_enabled = False


RULES = (DanglingTask, BlockingSleep, ExperimentalRule)
ALL = frozenset({"ASL102", "ASL301", "ASL901"})
DEFAULT = frozenset({"ASL102", "ASL301"})


@pytest.fixture(autouse=True)
def fake_rules(monkeypatch: pytest.MonkeyPatch) -> None:
    """Validation asks the registry, so these three rules stand in for the real ones."""
    by_key = {key: rule for rule in RULES for key in (rule.code, rule.name)}
    monkeypatch.setattr(registry, "all_rules", lambda: RULES)
    monkeypatch.setattr(registry, "rules_by_key", lambda: by_key)


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


def write(path: Path, text: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(textwrap.dedent(text))
    return path


def test_every_key_is_read(project: Path) -> None:
    file = write(
        project / "pyproject.toml",
        """
        [project]
        name = "demo"

        [tool.asynclint]
        select = ["ASL1"]
        ignore = ["blocking-sleep"]
        extend-select = ["ALL"]
        exclude = ["gen"]
        extend-exclude = ["legacy/", "*_pb2.py"]

        [tool.asynclint.per-file-ignores]
        "tests/**" = ["dangling-task", "ASL3"]
        "__init__.py" = []

        [tool.asynclint.rules.dangling-task]
        max-depth = 5
        extra-spawners = ["mylib.spawn"]

        [tool.asynclint.sanitizer]
        mode = "warn"
        threshold = 0.1

        [tool.asynclint.sanitizer.ignore]
        tasks = ["bg-*"]
        """,
    )
    assert load_config(file) == Config(
        path=file,
        root=project,
        select=frozenset({"ASL102"}),
        ignore=frozenset({"ASL301"}),
        extend_select=ALL,
        exclude=("gen",),
        extend_exclude=("legacy/", "*_pb2.py"),
        per_file_ignores=(
            ("tests/**", frozenset({"ASL102", "ASL301"})),
            ("__init__.py", frozenset()),
        ),
        rule_options={"ASL102": {"max-depth": 5, "extra-spawners": ["mylib.spawn"]}},
        sanitizer={"mode": "warn", "threshold": 0.1, "ignore": {"tasks": ["bg-*"]}},
    )


def test_empty_table_means_defaults(project: Path) -> None:
    file = write(project / "pyproject.toml", "[tool.asynclint]\n")
    config = load_config(file)
    assert config == Config(path=file, root=project)
    assert config.select is None
    assert config.exclude == DEFAULT_EXCLUDE
    assert config.rule_options == {}
    assert config.sanitizer == {}


@pytest.mark.parametrize("key", ["ASL102", "asl102", "dangling-task"])
def test_rule_options_are_keyed_by_code(project: Path, key: str) -> None:
    write(project / "pyproject.toml", f"[tool.asynclint.rules.{key}]\nmax-depth = 1\n")
    assert find_config(project).rule_options == {"ASL102": {"max-depth": 1}}


def test_rule_table_may_be_empty(project: Path) -> None:
    write(project / "pyproject.toml", "[tool.asynclint.rules.blocking-sleep]\n")
    assert find_config(project).rule_options == {"ASL301": {}}


def test_config_is_hashable_and_picklable(project: Path) -> None:
    """Worker processes receive configurations; callers group files by them."""
    file = write(
        project / "pyproject.toml",
        '[tool.asynclint]\nselect = ["ASL102"]\n[tool.asynclint.rules.ASL102]\nmax-depth = 2\n',
    )
    config = load_config(file)
    copy = pickle.loads(pickle.dumps(config))
    assert copy == config
    assert {config: 1}[copy] == 1
    assert copy != Config(path=file, root=project)


def test_toml_parser_matches_the_python_version() -> None:
    expected = "tomllib" if sys.version_info >= (3, 11) else "tomli"
    assert vars(config_module)["tomllib"].__name__ == expected


ERRORS = [
    (
        "selct = []",
        "[tool.asynclint] unknown key `selct`; did you mean `select`?",
    ),
    (
        "extend_select = []",
        "[tool.asynclint] unknown key `extend_select`; did you mean `extend-select`?",
    ),
    (
        "colour = true",
        "[tool.asynclint] unknown key `colour`; expected one of `cache-dir`, `exclude`, "
        "`extend-exclude`, "
        "`extend-select`, `extra-coroutine-functions`, `ignore`, `per-file-ignores`, `python`, "
        "`rules`, `sanitizer`, `select`, `sync-decorators`, `transparent-decorators`",
    ),
    (
        "python = 3",
        "[tool.asynclint] python: expected a string, got integer",
    ),
    (
        "sync-decorators = 'x'",
        "[tool.asynclint] sync-decorators: expected a list of strings, got string",
    ),
    ('select = "ASL102"', "[tool.asynclint] select: expected a list of strings, got string"),
    ("select = true", "[tool.asynclint] select: expected a list of strings, got boolean"),
    ("select = 1.5", "[tool.asynclint] select: expected a list of strings, got float"),
    ("select = {}", "[tool.asynclint] select: expected a list of strings, got table"),
    (
        "select = 1979-05-27T07:32:00Z",
        "[tool.asynclint] select: expected a list of strings, got datetime",
    ),
    ("select = 1979-05-27", "[tool.asynclint] select: expected a list of strings, got date"),
    ("select = 07:32:00", "[tool.asynclint] select: expected a list of strings, got time"),
    ('select = ["ASL102", 3]', "[tool.asynclint] select[1]: expected a string, got integer"),
    ('select = [["ASL102"]]', "[tool.asynclint] select[0]: expected a string, got array"),
    (
        'select = ["ASL999"]',
        "[tool.asynclint] select: unknown rule selector `ASL999`; did you mean `ASL901`?",
    ),
    ('select = ["XYZ"]', "[tool.asynclint] select: unknown rule selector `XYZ`"),
    (
        'ignore = ["dangling-tsak"]',
        "[tool.asynclint] ignore: unknown rule selector `dangling-tsak`; "
        "did you mean `dangling-task`?",
    ),
    (
        'extend-select = ["ASL1022"]',
        "[tool.asynclint] extend-select: unknown rule selector `ASL1022`; did you mean `ASL102`?",
    ),
    ('exclude = "build"', "[tool.asynclint] exclude: expected a list of strings, got string"),
    ("extend-exclude = [1.5]", "[tool.asynclint] extend-exclude[0]: expected a string, got float"),
    ('per-file-ignores = ["x"]', "[tool.asynclint] per-file-ignores: expected a table, got array"),
    (
        '[tool.asynclint.per-file-ignores]\n"tests/*.py" = "ASL102"',
        '[tool.asynclint.per-file-ignores] "tests/*.py": expected a list of strings, got string',
    ),
    (
        '[tool.asynclint.per-file-ignores]\n"tests/*.py" = ["ASL102", "asyncio"]',
        '[tool.asynclint.per-file-ignores] "tests/*.py": unknown rule selector `asyncio`',
    ),
    ("rules = 1", "[tool.asynclint] rules: expected a table, got integer"),
    (
        "[tool.asynclint.rules.dangling-tsk]",
        "[tool.asynclint.rules] unknown rule `dangling-tsk`; did you mean `dangling-task`?",
    ),
    (
        "[tool.asynclint.rules.ASL10]",
        "[tool.asynclint.rules] unknown rule `ASL10`; did you mean `ASL102`?",
    ),
    ("[tool.asynclint.rules.sleep]", "[tool.asynclint.rules] unknown rule `sleep`"),
    (
        "[tool.asynclint.rules]\ndangling-task = 1",
        "[tool.asynclint.rules] dangling-task: expected a table, got integer",
    ),
    (
        "[tool.asynclint.rules.ASL102]\n[tool.asynclint.rules.dangling-task]",
        "[tool.asynclint.rules] `ASL102` and `dangling-task` are the same rule",
    ),
    (
        "[tool.asynclint.rules.dangling-task]\nmax-dept = 2",
        "[tool.asynclint.rules.dangling-task] unknown option `max-dept`; did you mean `max-depth`?",
    ),
    (
        "[tool.asynclint.rules.ASL102]\ncolour = 2",
        "[tool.asynclint.rules.ASL102] unknown option `colour`; "
        "expected one of `extra-spawners`, `max-depth`",
    ),
    (
        "[tool.asynclint.rules.blocking-sleep]\nmax-depth = 2",
        "[tool.asynclint.rules.blocking-sleep] unknown option `max-depth`; "
        "`blocking-sleep` has no options",
    ),
    (
        '[tool.asynclint.rules.dangling-task]\nmax-depth = "2"',
        "[tool.asynclint.rules.dangling-task] max-depth: expected int, got string",
    ),
    (
        "[tool.asynclint.rules.dangling-task]\nmax-depth = true",
        "[tool.asynclint.rules.dangling-task] max-depth: expected int, got boolean",
    ),
    (
        '[tool.asynclint.rules.dangling-task]\nextra-spawners = ["a", 1]',
        "[tool.asynclint.rules.dangling-task] extra-spawners: "
        "expected a list of strings, got array",
    ),
    ('sanitizer = "strict"', "[tool.asynclint] sanitizer: expected a table, got string"),
]


@pytest.mark.parametrize(("body", "message"), ERRORS)
def test_invalid_configuration(project: Path, body: str, message: str) -> None:
    file = write(project / "pyproject.toml", f"[tool.asynclint]\n{body}\n")
    with pytest.raises(ConfigError) as raised:
        load_config(file)
    assert str(raised.value) == f"pyproject.toml: {message}"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (
            b"[tool.asynclint\n",
            "pyproject.toml: invalid TOML: "
            "Expected ']' at the end of a table declaration (at line 1, column 16)",
        ),
        (
            b"\xff",
            "pyproject.toml: invalid TOML: "
            "'utf-8' codec can't decode byte 0xff in position 0: invalid start byte",
        ),
        (
            b"[tool]\nasynclint = 3\n",
            "pyproject.toml: tool.asynclint: expected a table, got integer",
        ),
    ],
)
def test_unreadable_pyproject_found_upward(project: Path, content: bytes, message: str) -> None:
    """A broken pyproject.toml on the way up stops the run instead of being skipped."""
    write(project / "pyproject.toml", content)
    (project / "src").mkdir()
    with pytest.raises(ConfigError) as raised:
        find_config(project / "src")
    assert str(raised.value) == message


def test_error_names_file_relative_to_working_directory(project: Path) -> None:
    write(project / "sub" / "pyproject.toml", "[tool.asynclint]\nselct = []\n")
    with pytest.raises(ConfigError) as raised:
        find_config(project / "sub" / "pkg")
    assert str(raised.value).startswith("sub/pyproject.toml: [tool.asynclint] unknown key")


def test_error_names_file_outside_working_directory_absolutely(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    file = write(tmp_path / "pyproject.toml", "[tool.asynclint]\nselct = []\n")
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")
    with pytest.raises(ConfigError) as raised:
        load_config(file)
    assert str(raised.value).startswith(f"{file}: [tool.asynclint] unknown key")


def test_nearest_config_with_table_wins(project: Path) -> None:
    outer = write(project / "pyproject.toml", '[tool.asynclint]\nignore = ["ASL301"]\n')
    write(project / "a" / "pyproject.toml", '[project]\nname = "a"\n')
    inner = write(project / "a" / "b" / "pyproject.toml", '[tool.asynclint]\nselect = ["ASL3"]\n')
    (project / "a" / "b" / "c").mkdir()
    resolver = ConfigResolver()
    assert resolver.for_directory(project / "a") == Config(
        path=outer, root=project, ignore=frozenset({"ASL301"})
    )
    # Nothing is merged: the outer `ignore` does not reach the inner project.
    assert resolver.for_directory(project / "a" / "b" / "c") == Config(
        path=inner, root=project / "a" / "b", select=frozenset({"ASL301"})
    )


def test_no_config_means_defaults_rooted_at_working_directory(project: Path) -> None:
    (project / "src").mkdir()
    assert find_config(project / "src") == Config(path=None, root=project)
    assert find_config("src") == Config(path=None, root=project)


def test_pyproject_without_table_is_skipped(project: Path) -> None:
    write(project / "pyproject.toml", "[tool.black]\nline-length = 100\n")
    assert find_config(project).path is None


def test_directory_named_pyproject_is_skipped(project: Path) -> None:
    (project / "pyproject.toml").mkdir()
    assert find_config(project).path is None


def test_each_directory_is_looked_up_once(project: Path) -> None:
    file = write(project / "pyproject.toml", '[tool.asynclint]\nselect = ["ASL102"]\n')
    resolver = ConfigResolver()
    found = resolver.for_directory(project / "a" / "b")
    file.write_text('[tool.asynclint]\nselect = ["ASL301"]\n')
    write(project / "a" / "pyproject.toml", "[tool.asynclint]\n")
    assert resolver.for_directory(project / "a") is found
    assert resolver.for_directory(project) is found
    assert ConfigResolver().for_directory(project).select == frozenset({"ASL301"})


def test_explicit_pyproject(project: Path) -> None:
    write(project / "pyproject.toml", '[tool.asynclint]\nselect = ["ASL102"]\n')
    other = write(project / "cfg" / "pyproject.toml", '[tool.asynclint]\nselect = ["ASL301"]\n')
    resolver = ConfigResolver("cfg/pyproject.toml")
    expected = Config(path=other, root=project / "cfg", select=frozenset({"ASL301"}))
    assert resolver.for_directory(project) == expected
    assert resolver.for_directory("/") == expected


def test_explicit_pyproject_needs_the_table(project: Path) -> None:
    write(project / "cfg" / "pyproject.toml", '[project]\nname = "x"\n')
    with pytest.raises(ConfigError) as raised:
        ConfigResolver("cfg/pyproject.toml")
    assert str(raised.value) == "cfg/pyproject.toml: no [tool.asynclint] table"


def test_standalone_file_holds_keys_at_top_level(project: Path) -> None:
    file = write(
        project / "ci" / "asynclint.toml",
        """
        extend-select = ["experimental-rule"]
        [rules.dangling-task]
        max-depth = 4
        """,
    )
    assert load_config("ci/asynclint.toml") == Config(
        path=file,
        root=project / "ci",
        extend_select=frozenset({"ASL901"}),
        rule_options={"ASL102": {"max-depth": 4}},
    )


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("selct = []", "asynclint.toml: unknown key `selct`; did you mean `select`?"),
        (
            "[rules.dangling-task]\nmax-dept = 1",
            "asynclint.toml: [rules.dangling-task] unknown option `max-dept`; "
            "did you mean `max-depth`?",
        ),
        (
            "[tool.asynclint]",
            "asynclint.toml: unknown key `tool`; expected one of `cache-dir`, `exclude`, "
            "`extend-exclude`, "
            "`extend-select`, `extra-coroutine-functions`, `ignore`, `per-file-ignores`, "
            "`python`, `rules`, `sanitizer`, `select`, `sync-decorators`, "
            "`transparent-decorators`",
        ),
    ],
)
def test_standalone_file_errors(project: Path, body: str, message: str) -> None:
    write(project / "asynclint.toml", body + "\n")
    with pytest.raises(ConfigError) as raised:
        load_config("asynclint.toml")
    assert str(raised.value) == message


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ("missing.toml", "missing.toml: No such file or directory"),
        ("folder", "folder: Is a directory"),
    ],
)
def test_explicit_file_must_be_readable(project: Path, given: str, message: str) -> None:
    (project / "folder").mkdir()
    with pytest.raises(ConfigError) as raised:
        ConfigResolver(given)
    assert str(raised.value) == message


def test_isolated_reads_no_file(project: Path) -> None:
    write(project / "pyproject.toml", '[tool.asynclint]\nselect = ["ASL102"]\n')
    resolver = ConfigResolver(isolated=True)
    assert resolver.for_directory(project) == Config(path=None, root=project)


def test_isolated_and_explicit_file_conflict(project: Path) -> None:
    write(project / "asynclint.toml", "")
    with pytest.raises(ConfigError) as raised:
        ConfigResolver("asynclint.toml", isolated=True)
    assert str(raised.value) == "--config and --isolated cannot be used together"


@pytest.mark.parametrize(
    ("config", "selection", "expected"),
    [
        (Config(None, Path("/")), Selection(), DEFAULT),
        (Config(None, Path("/"), select=frozenset({"ASL301"})), Selection(), {"ASL301"}),
        (Config(None, Path("/"), select=frozenset()), Selection(), set()),
        (
            Config(None, Path("/"), select=frozenset({"ASL301"})),
            Selection(select=("ASL1",)),
            {"ASL102"},
        ),
        (Config(None, Path("/")), Selection(select=("ALL",)), ALL),
        (Config(None, Path("/"), extend_select=frozenset({"ASL901"})), Selection(), ALL),
        (Config(None, Path("/")), Selection(extend_select=("experimental-rule",)), ALL),
        (
            Config(None, Path("/"), select=frozenset({"ASL301"})),
            Selection(select=("ASL102",), extend_select=("ASL9",)),
            {"ASL102", "ASL901"},
        ),
        (Config(None, Path("/"), ignore=frozenset({"ASL102"})), Selection(), {"ASL301"}),
        (Config(None, Path("/")), Selection(ignore=("ASL3",)), {"ASL102"}),
        (
            Config(None, Path("/"), ignore=frozenset({"ASL102"})),
            Selection(select=("ALL",), ignore=("blocking-sleep",)),
            {"ASL901"},
        ),
        (
            Config(None, Path("/"), extend_select=frozenset({"ASL901"})),
            Selection(ignore=("ASL901",)),
            DEFAULT,
        ),
    ],
)
def test_enabled_codes(config: Config, selection: Selection, expected: set[str]) -> None:
    assert enabled_codes(config, selection) == expected


@pytest.mark.parametrize(
    ("selection", "message"),
    [
        (Selection(select=("ASL102", "Q")), "--select: unknown rule selector `Q`"),
        (
            Selection(ignore=("blocking-slep",)),
            "--ignore: unknown rule selector `blocking-slep`; did you mean `blocking-sleep`?",
        ),
        (Selection(extend_select=("XYZ",)), "--extend-select: unknown rule selector `XYZ`"),
    ],
)
def test_unknown_selector_on_command_line(selection: Selection, message: str) -> None:
    with pytest.raises(ConfigError) as raised:
        enabled_codes(Config(None, Path("/")), selection)
    assert str(raised.value) == message


PER_FILE = Config(
    path=None,
    root=Path("/project"),
    per_file_ignores=(
        ("tests/**", frozenset({"ASL102"})),
        ("__init__.py", frozenset({"ASL301"})),
        ("/top.py", frozenset({"ASL901"})),
        ("scripts", frozenset({"ASL301"})),
        ("**/conftest.py", frozenset({"ASL901"})),
        ("src/*/gen_?.py", frozenset({"ASL102"})),
    ),
)


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/project/tests/test_a.py", {"ASL102"}),
        ("/project/tests/unit/deep/test_b.py", {"ASL102"}),
        ("/project/tests/__init__.py", {"ASL102", "ASL301"}),
        ("/project/src/pkg/__init__.py", {"ASL301"}),
        ("/project/top.py", {"ASL901"}),
        ("/project/src/top.py", set()),
        ("/project/scripts/run.py", {"ASL301"}),
        ("/project/tools/scripts/sub/run.py", {"ASL301"}),
        ("/project/conftest.py", {"ASL901"}),
        ("/project/tests/conftest.py", {"ASL102", "ASL901"}),
        ("/project/src/pkg/gen_a.py", {"ASL102"}),
        ("/project/src/pkg/gen_ab.py", set()),
        ("/project/src/pkg/sub/gen_a.py", set()),
        ("/project/other/tests/test_a.py", set()),
        ("/project/src/module.py", set()),
        ("/elsewhere/tests/test_a.py", set()),
        ("/elsewhere/__init__.py", {"ASL301"}),
        ("/elsewhere/top.py", set()),
    ],
)
def test_ignored_for(path: str, expected: set[str]) -> None:
    assert ignored_for(PER_FILE, path) == expected


def test_ignored_for_relative_path(project: Path) -> None:
    config = Config(
        path=None, root=project, per_file_ignores=(("tests/*.py", frozenset({"ASL102"})),)
    )
    assert ignored_for(config, "tests/test_a.py") == {"ASL102"}
    assert ignored_for(config, "./tests/../tests/test_a.py") == {"ASL102"}
    assert ignored_for(config, "test_a.py") == set()


@pytest.mark.parametrize(
    ("pattern", "relative", "is_dir", "matches", "covers"),
    [
        ("build", "build", True, True, True),
        ("build", "src/build", True, True, True),
        ("build", "src/build/x/a.py", False, False, True),
        ("build", "src/build.py", False, False, False),
        ("build", "rebuild", True, False, False),
        ("/build", "build", True, True, True),
        ("/build", "src/build", True, False, False),
        ("/build", "build/a.py", False, False, True),
        ("src/gen", "src/gen", True, True, True),
        ("src/gen", "src/gen/a.py", False, False, True),
        ("src/gen", "lib/src/gen", True, False, False),
        ("./src/gen", "src/gen", True, True, True),
        ("gen/", "gen", True, True, True),
        ("gen/", "a/gen/b.py", False, False, True),
        ("gen/", "gen", False, False, False),
        ("*.py", "a/b/c.py", False, True, True),
        ("*.py", "a/b/c.pyi", False, False, False),
        ("*_pb2.py", "proto/x_pb2.py", False, True, True),
        ("a/*.py", "a/b.py", False, True, True),
        ("a/*.py", "a/b/c.py", False, False, False),
        ("a/**/c.py", "a/c.py", False, True, True),
        ("a/**/c.py", "a/b/b/c.py", False, True, True),
        ("a/**/c.py", "x/a/c.py", False, False, False),
        ("**/c.py", "c.py", False, True, True),
        ("**/c.py", "a/b/c.py", False, True, True),
        ("a/**", "a/b/c.py", False, True, True),
        ("a/**", "ab/c.py", False, False, False),
        ("**", "anything/at/all.py", False, True, True),
        ("a**b", "axxb", True, True, True),
        ("a**b", "ax/xb", True, False, False),
        ("?.py", "a.py", False, True, True),
        ("?.py", "ab.py", False, False, False),
        ("[ab].py", "b.py", False, True, True),
        ("[ab].py", "c.py", False, False, False),
        ("[!ab].py", "c.py", False, True, True),
        ("[!ab].py", "a.py", False, False, False),
        ("[a-c]x", "bx", True, True, True),
        ("[^]x", "^x", True, True, True),
        ("[x", "[x", True, True, True),
        ("a+b(c).py", "a+b(c).py", False, True, True),
        ("a+b(c).py", "aab(c).py", False, False, False),
        ("build", "", True, False, False),
    ],
)
def test_glob(pattern: str, relative: str, is_dir: bool, matches: bool, covers: bool) -> None:
    globs = compile_globs((pattern,))
    name = relative.rpartition("/")[2]
    assert globs.matches(relative, name, is_dir=is_dir) is matches
    assert globs.covers(relative, name, is_dir=is_dir) is covers


def test_no_globs_match_nothing() -> None:
    assert compile_globs(()).matches("a.py", "a.py", is_dir=False) is False
    assert compile_globs(()).matches(None, "a.py", is_dir=False) is False
    assert compile_globs(()).covers("a/b.py", "b.py", is_dir=False) is False


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ("build", True),
        ("build/", True),
        ("*.py", True),
        ("**/build", True),
        ("/build", False),
        ("./build", False),
        ("src/build", False),
        ("**/src/build", False),
    ],
)
def test_glob_outside_root_matches_name_only_for_patterns_without_a_slash(
    pattern: str, expected: bool
) -> None:
    name = "build.py" if pattern == "*.py" else "build"
    globs = compile_globs((pattern,))
    assert globs.matches(None, name, is_dir=True) is expected
    assert globs.covers(None, name, is_dir=True) is expected


def test_relative() -> None:
    config = Config(path=None, root=Path("/project"))
    assert config.relative("/project") == ""
    assert config.relative("/project/a/b.py") == "a/b.py"
    assert config.relative("/project/a/../b.py") == "b.py"
    assert config.relative("/project-x/a.py") is None
    assert Config(path=None, root=Path("/")).relative("/a/b.py") == "a/b.py"


def test_the_reference_documents_every_key_and_no_other() -> None:
    reference = Path(__file__).resolve().parent.parent / "docs" / "configuration.md"
    documented = re.findall(r"^\| `([a-z-]+)(?:\.<rule>)?` \|", reference.read_text(), re.M)
    assert sorted(documented) == sorted(config_module._KEYS)
