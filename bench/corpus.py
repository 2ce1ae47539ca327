"""Fetch a pinned corpus of real asyncio code for the benchmarks.

Pinned versions keep benchmark figures comparable from one run to the next;
only ``.py``/``.pyi`` files are kept because nothing else is ever analysed.
Every step is skipped when its result is already in the cache, so running the
script again is cheap.

    python bench/corpus.py [--cache DIR] [--packages a,b] [--quiet]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import re
import shutil
import subprocess
import sys
import sysconfig
import tarfile
import tempfile
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import NamedTuple

# Newest releases offered by PyPI when the corpus was pinned.
PINS: dict[str, str] = {
    "aiohttp": "3.14.5",
    "aiogram": "3.31.0",
    "discord.py": "2.7.1",
    "textual": "8.2.8",
    "prefect": "3.9.1",
    "homeassistant": "2026.2.3",
}
STDLIB = "asyncio"
SOURCE_SUFFIXES = (".py", ".pyi")
ASYNC_WORD = re.compile(rb"\basync\b")


@dataclass(frozen=True)
class Entry:
    """One corpus member: a pinned PyPI release or the running interpreter's asyncio."""

    name: str
    version: str

    @property
    def dirname(self) -> str:
        return f"{self.name}-{self.version}"


class Stats(NamedTuple):
    """Size figures of one corpus member."""

    files: int
    lines: int
    async_files: int


class CorpusError(Exception):
    """A problem the user can fix (unknown name, failed download); one line to show."""


def default_cache() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "asynclint-bench"


def entries() -> list[Entry]:
    """All members, the stdlib one in the version of the interpreter running us."""
    pinned = [Entry(name, version) for name, version in PINS.items()]
    return [*pinned, Entry(STDLIB, platform.python_version())]


def select(names: Sequence[str] | None) -> list[Entry]:
    """Members named by the user, in corpus order; unknown names raise."""
    known = entries()
    if not names:
        return known
    unknown = sorted(set(names) - {entry.name for entry in known})
    if unknown:
        valid = ", ".join(entry.name for entry in known)
        raise CorpusError(f"unknown package(s) {', '.join(unknown)}; valid: {valid}")
    return [entry for entry in known if entry.name in names]


def source_dir(cache: Path, entry: Entry) -> Path:
    return cache / "src" / entry.dirname


def iter_sources(root: Path) -> Iterator[Path]:
    """Source files under ``root`` in a stable order, so samples are reproducible."""
    for path in sorted(root.rglob("*")):
        if path.suffix in SOURCE_SUFFIXES and path.is_file():
            yield path


def count_lines(source: bytes) -> int:
    return len(source.splitlines())


def measure(root: Path) -> Stats:
    files = lines = async_files = 0
    for path in iter_sources(root):
        source = path.read_bytes()
        files += 1
        lines += count_lines(source)
        async_files += bool(ASYNC_WORD.search(source))
    return Stats(files, lines, async_files)


def pip_download(spec: str, dest: Path, binary_flag: str) -> subprocess.CompletedProcess[str]:
    # Requires-Python is ignored: the code is read, never installed or run.
    command = [sys.executable, "-m", "pip", "download", "--no-deps", "--ignore-requires-python"]
    command += [binary_flag, ":all:", "--quiet", "--dest", str(dest), spec]
    return subprocess.run(command, capture_output=True, text=True, check=False)


def download(entry: Entry, dist: Path) -> Path:
    """The release's archive: the sdist when there is one (it carries tests), else a wheel."""
    dest = dist / entry.dirname
    existing = sorted(dest.glob("*")) if dest.is_dir() else []
    if existing:
        return existing[0]
    spec = f"{entry.name}=={entry.version}"
    with tempfile.TemporaryDirectory(dir=dist) as scratch:
        for flag in ("--no-binary", "--only-binary"):
            result = pip_download(spec, Path(scratch), flag)
            archives = sorted(Path(scratch).iterdir())
            if result.returncode == 0 and archives:
                dest.mkdir(parents=True)
                return Path(shutil.move(archives[0], dest / archives[0].name))
    last = (result.stderr.strip().splitlines() or ["no output"])[-1]
    raise CorpusError(f"pip could not download {spec}: {last}")


def archive_members(archive: Path) -> Iterator[tuple[str, bytes]]:
    """(name, content) of every regular file in an sdist or a wheel."""
    if archive.suffix in {".whl", ".zip"}:
        with zipfile.ZipFile(archive) as zipped:
            for info in zipped.infolist():
                if not info.is_dir():
                    yield info.filename, zipped.read(info)
        return
    with tarfile.open(archive) as tarred:
        for member in tarred:
            extracted = tarred.extractfile(member) if member.isfile() else None
            if extracted is not None:
                yield member.name, extracted.read()


def safe_relative(name: str, strip_top: bool) -> PurePosixPath | None:
    """The path to write ``name`` to, or None when it would escape the target."""
    parts = PurePosixPath(name).parts[1 if strip_top else 0 :]
    if not parts or PurePosixPath(name).is_absolute() or ".." in parts:
        return None
    return PurePosixPath(*parts)


def extract_sources(archive: Path, target: Path) -> None:
    # An sdist wraps everything in one "<name>-<version>/" folder; a wheel does not.
    strip_top = not archive.name.endswith(".whl")
    for name, content in archive_members(archive):
        relative = safe_relative(name, strip_top)
        if relative is None or relative.suffix not in SOURCE_SUFFIXES:
            continue
        path = target / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)


def copy_stdlib(target: Path) -> None:
    """The interpreter's ``asyncio`` package and, when installed, its test suite."""
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    folders = {
        Path(asyncio.__file__).parent: target / "asyncio",
        stdlib / "test" / "test_asyncio": target / "test" / "test_asyncio",
    }
    for origin, destination in folders.items():
        for path in iter_sources(origin) if origin.is_dir() else ():
            copy = destination / path.relative_to(origin)
            copy.parent.mkdir(parents=True, exist_ok=True)
            copy.write_bytes(path.read_bytes())


def populate(cache: Path, entry: Entry) -> bool:
    """Fill the member's source folder; False when it was already there.

    The folder is built aside and renamed into place, so an interrupted run never
    leaves a half-filled folder that would later be taken as complete.
    """
    target = source_dir(cache, entry)
    if target.is_dir():
        return False
    for folder in (cache / "src", cache / "dist"):
        folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=cache / "src") as scratch:
        building = Path(scratch) / entry.dirname
        building.mkdir()
        if entry.name == STDLIB:
            copy_stdlib(building)
        else:
            extract_sources(download(entry, cache / "dist"), building)
        building.rename(target)
    return True


def render_table(rows: Sequence[tuple[str, Stats]]) -> str:
    total = Stats(*(sum(column) for column in zip(*(stats for _, stats in rows), strict=True)))
    lines = [f"{'package':<28} {'files':>7} {'lines':>10} {'async files':>12}"]
    for label, stats in [*rows, ("total", total)]:
        share = f"{stats.async_files} ({stats.async_files / max(stats.files, 1):.0%})"
        lines.append(f"{label:<28} {stats.files:>7} {stats.lines:>10} {share:>12}")
    return "\n".join(lines)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", type=Path, default=default_cache(), help="cache folder")
    parser.add_argument("--packages", help="comma-separated subset, e.g. aiohttp,asyncio")
    parser.add_argument("--quiet", action="store_true", help="do not print the size table")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    cache: Path = args.cache.expanduser().resolve()
    try:
        chosen = select(args.packages.split(",") if args.packages else None)
        for entry in chosen:
            if populate(cache, entry):
                print(f"fetched {entry.dirname}", file=sys.stderr)
    except (CorpusError, OSError, tarfile.TarError, zipfile.BadZipFile) as error:
        print(f"corpus.py: error: {error}", file=sys.stderr)
        return 1
    if not args.quiet:
        rows = [(entry.dirname, measure(source_dir(cache, entry))) for entry in chosen]
        print(render_table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
