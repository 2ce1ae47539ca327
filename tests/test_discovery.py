"""File discovery: walking, exclusion, explicit paths, display spelling, errors."""

from __future__ import annotations

import os
import textwrap
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from asynclint.config import DEFAULT_EXCLUDE, ConfigError, ConfigResolver
from asynclint.discovery import Discovery, discover


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


def tree(root: Path, *paths: str) -> None:
    """Create empty files, or directories for paths ending in ``/``."""
    for path in paths:
        target = root / path
        if path.endswith("/"):
            target.mkdir(parents=True, exist_ok=True)
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text("")


def configure(directory: Path, body: str) -> Path:
    file = directory / "pyproject.toml"
    file.parent.mkdir(parents=True, exist_ok=True)
    file.write_text("[tool.asynclint]\n" + textwrap.dedent(body))
    return file


def run(
    paths: Sequence[str], resolver: ConfigResolver | None = None, *, force_exclude: bool = False
) -> Discovery:
    return discover(paths, resolver or ConfigResolver(), force_exclude=force_exclude)


def found(paths: Sequence[str], *, force_exclude: bool = False) -> list[str]:
    result = run(paths, force_exclude=force_exclude)
    assert result.errors == ()
    return [file.path for file in result.files]


def test_walks_python_files_in_sorted_order(project: Path) -> None:
    tree(
        project,
        "src/b.pyi",
        "src/a.py",
        "src/notes.txt",
        "src/Makefile",
        "src/a.py.orig",
        "src/pkg/z.py",
        "src/pkg/__init__.py",
        "src/pkg/data/",
        "src/pkg-x.py",
        "setup.py",
    )
    assert found(["src"]) == [
        "src/a.py",
        "src/b.pyi",
        "src/pkg-x.py",
        "src/pkg/__init__.py",
        "src/pkg/z.py",
    ]


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("src", ["src/a.py", "src/pkg/b.py"]),
        ("src/", ["src/a.py", "src/pkg/b.py"]),
        ("./src", ["./src/a.py", "./src/pkg/b.py"]),
        ("src/../src", ["src/../src/a.py", "src/../src/pkg/b.py"]),
        (".", ["./src/a.py", "./src/pkg/b.py"]),
        ("src/pkg/b.py", ["src/pkg/b.py"]),
        ("./src/pkg/b.py", ["./src/pkg/b.py"]),
    ],
)
def test_paths_are_shown_as_given(project: Path, given: str, expected: list[str]) -> None:
    tree(project, "src/a.py", "src/pkg/b.py")
    assert found([given]) == expected


def test_no_paths_means_working_directory_without_prefix(project: Path) -> None:
    tree(project, "a.py", "pkg/b.py")
    assert found([]) == ["a.py", "pkg/b.py"]


def test_absolute_path_stays_absolute(project: Path) -> None:
    tree(project, "src/a.py")
    assert found([str(project / "src")]) == [str(project / "src" / "a.py")]


@pytest.mark.parametrize("name", DEFAULT_EXCLUDE)
def test_default_exclusions(project: Path, name: str) -> None:
    tree(project, f"{name}/x.py", f"src/{name}/y.py", f"src/{name}/deep/z.py", "src/ok.py")
    assert found([]) == ["src/ok.py"]


def test_virtual_environment_is_skipped_whatever_its_name(project: Path) -> None:
    tree(project, "env/pyvenv.cfg", "env/lib/x.py", "tools/py3/pyvenv.cfg", "tools/py3/y.py")
    tree(project, "tools/run.py")
    assert found([]) == ["tools/run.py"]
    assert found(["env"]) == ["env/lib/x.py"]


def test_exclude_replaces_the_defaults(project: Path) -> None:
    configure(project, 'exclude = ["gen"]\n')
    tree(project, "build/x.py", "gen/y.py", "src/gen/z.py", "src/a.py")
    assert found(["."]) == ["./build/x.py", "./src/a.py"]


def test_extend_exclude_adds_to_the_defaults(project: Path) -> None:
    configure(project, 'extend-exclude = ["gen", "*_pb2.py", "/top.py", "docs/", "src/legacy"]\n')
    tree(
        project,
        "build/x.py",
        "gen/y.py",
        "src/gen/z.py",
        "src/msg_pb2.py",
        "top.py",
        "src/top.py",
        "docs/conf.py",
        "src/legacy/old.py",
        "lib/src/legacy/kept.py",
        "src/a.py",
    )
    assert found([]) == ["lib/src/legacy/kept.py", "src/a.py", "src/top.py"]


def test_anchored_globs_are_relative_to_the_config_not_to_the_path_given(project: Path) -> None:
    configure(project, 'extend-exclude = ["src/gen", "src/*/tmp"]\n')
    tree(project, "src/gen/x.py", "src/pkg/tmp/y.py", "src/pkg/a.py", "src/other/src/gen/b.py")
    assert found(["src"]) == ["src/other/src/gen/b.py", "src/pkg/a.py"]
    assert found(["src/pkg"]) == ["src/pkg/a.py"]


def test_explicit_paths_are_checked_even_when_excluded(project: Path) -> None:
    configure(project, 'extend-exclude = ["gen"]\n')
    tree(project, "build/x.py", "build/sub/y.py", "gen/z.py", "src/a.py")
    assert found(["build", "gen/z.py", "src"]) == [
        "build/sub/y.py",
        "build/x.py",
        "gen/z.py",
        "src/a.py",
    ]


def test_force_exclude_applies_exclusions_to_explicit_paths(project: Path) -> None:
    configure(project, 'extend-exclude = ["gen"]\n')
    tree(project, "build/x.py", "build/sub/y.py", "gen/z.py", "src/a.py")
    given = ["build", "build/sub/y.py", "gen/z.py", "src", "src/a.py", "."]
    assert found(given, force_exclude=True) == ["./src/a.py"]


def test_force_exclude_keeps_paths_not_excluded(project: Path) -> None:
    tree(project, "build/x.py", "src/a.py")
    assert found(["src", "src/a.py"], force_exclude=True) == ["src/a.py"]
    assert found([], force_exclude=True) == ["src/a.py"]


def test_explicit_file_is_checked_whatever_its_suffix(project: Path) -> None:
    tree(project, "bin/tool", "bin/tool.txt")
    assert found(["bin/tool"]) == ["bin/tool"]
    assert found(["bin"]) == []


def test_missing_path_is_reported_and_the_run_goes_on(project: Path) -> None:
    tree(project, "src/a.py", "file.py")
    result = run(["missing/path", "src", "file.py/x"])
    assert [file.path for file in result.files] == ["src/a.py"]
    assert result.errors == (
        "missing/path: No such file or directory",
        "file.py/x: Not a directory",
    )


def test_file_reached_twice_is_listed_once(project: Path) -> None:
    tree(project, "src/a.py", "src/b.py")
    assert found(["src/a.py", "src", "./src/a.py", "src/b.py"]) == [
        "./src/a.py",
        "src/b.py",
    ]


def test_stdin_is_passed_through_with_the_working_directory_config(project: Path) -> None:
    config_file = configure(project, 'select = ["ALL"]\n')
    tree(project, "src/a.py")
    result = run(["src", "-", "-"])
    assert [(file.path, file.config.path) for file in result.files] == [
        ("-", config_file),
        ("src/a.py", config_file),
    ]


@pytest.mark.skipif(not hasattr(os, "symlink"), reason="needs symbolic links")
def test_symbolic_links(project: Path) -> None:
    tree(project, "src/a.py", "real/b.py", "real/c.py")
    os.symlink(project / "src", project / "src" / "loop")
    os.symlink(project / "real", project / "src" / "linked_dir")
    os.symlink(project / "real" / "b.py", project / "src" / "linked.py")
    os.symlink(project / "nowhere.py", project / "src" / "broken.py")
    os.symlink(project / "src", project / "alias")
    assert found(["src"]) == ["src/a.py", "src/linked.py"]
    assert found(["alias"]) == ["alias/a.py", "alias/linked.py"]
    assert found(["src/linked_dir"]) == ["src/linked_dir/b.py", "src/linked_dir/c.py"]


@pytest.mark.skipif(not hasattr(os, "symlink"), reason="needs symbolic links")
def test_explicit_symbolic_link_loop_is_an_error(project: Path) -> None:
    os.symlink("b", project / "a")
    os.symlink("a", project / "b")
    tree(project, "ok.py")
    result = run(["a", "ok.py"])
    assert [file.path for file in result.files] == ["ok.py"]
    assert result.errors == ("a: Too many levels of symbolic links",)


@pytest.fixture
def locked(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Directories named ``locked`` (and the working directory) cannot be listed."""
    scandir = os.scandir

    def guarded(path: str) -> Iterator[os.DirEntry[str]]:
        if os.path.basename(path) == "locked" or path == os.path.abspath(os.curdir):
            raise PermissionError(13, "Permission denied", path)
        return scandir(path)

    monkeypatch.setattr(os, "scandir", guarded)
    yield


def test_unreadable_directory_is_reported(project: Path, locked: None) -> None:
    tree(project, "src/locked/x.py", "src/a.py")
    result = run(["src"])
    assert [file.path for file in result.files] == ["src/a.py"]
    assert result.errors == ("src/locked: Permission denied",)


def test_unreadable_working_directory_is_reported(project: Path, locked: None) -> None:
    assert run([]).errors == (".: Permission denied",)


def test_each_directory_uses_its_nearest_config(project: Path) -> None:
    outer = configure(project, 'extend-exclude = ["gen"]\n')
    inner = configure(project / "sub", 'exclude = ["legacy"]\n')
    tree(project, "gen/x.py", "a.py", "sub/gen/y.py", "sub/legacy/z.py", "sub/build/w.py")
    tree(project, "sub/pkg/b.py")
    result = run([])
    assert [(file.path, file.config.path) for file in result.files] == [
        ("a.py", outer),
        ("sub/build/w.py", inner),
        ("sub/gen/y.py", inner),
        ("sub/pkg/b.py", inner),
    ]


def test_nested_project_is_excluded_by_the_outer_config(project: Path) -> None:
    configure(project, 'extend-exclude = ["sub"]\n')
    configure(project / "sub", "")
    tree(project, "sub/x.py", "a.py")
    assert found([]) == ["a.py"]


def test_invalid_nested_config_stops_the_walk(project: Path) -> None:
    configure(project / "sub" / "deep", 'selct = ["ALL"]\n')
    tree(project, "sub/deep/x.py")
    with pytest.raises(ConfigError) as raised:
        run([])
    assert str(raised.value) == (
        "sub/deep/pyproject.toml: [tool.asynclint] unknown key `selct`; did you mean `select`?"
    )


def test_explicit_config_applies_everywhere(project: Path) -> None:
    config_file = configure(project / "cfg", 'extend-exclude = ["/gen", "tmp"]\n')
    configure(project, 'extend-exclude = ["src"]\n')
    tree(project, "cfg/gen/x.py", "cfg/ok.py", "gen/y.py", "src/a.py", "src/tmp/b.py")
    result = run([], ConfigResolver("cfg/pyproject.toml"))
    assert [(file.path, file.config.path) for file in result.files] == [
        ("cfg/ok.py", config_file),
        ("gen/y.py", config_file),
        ("src/a.py", config_file),
    ]


def test_isolated_ignores_configuration(project: Path) -> None:
    configure(project, 'exclude = ["src"]\n')
    tree(project, "src/a.py", "build/b.py")
    result = run([], ConfigResolver(isolated=True))
    assert [(file.path, file.config.path) for file in result.files] == [("src/a.py", None)]
