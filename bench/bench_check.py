"""Time ``asynclint check`` on the real corpus against parse-only baselines.

A linter built on LibCST parses at LibCST's speed, so every figure is also given as a
ratio to LibCST parsing the same files with the same number of processes; asynclint's
pre-filter and cache are how it gets below that. Every measure runs over one file list,
materialised as a tree of hard links, so the in-process parsers and the command-line tools
see the same files. asynclint runs from a copy of the checkout taken at start-up, so an
edit made meanwhile neither changes what is measured nor empties its cache.

    python bench/bench_check.py [--cache DIR] [--packages a,b] [--sample F]
                                [--repeat N] [--skip-flake8] [--flake8 PATH] [--ruff PATH]
"""

from __future__ import annotations

import argparse
import ast
import compileall
import hashlib
import importlib.util
import multiprocessing
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import Enum
from functools import partial
from importlib.metadata import version
from multiprocessing.connection import Connection
from pathlib import Path

import corpus
import libcst

REPO_ROOT = Path(__file__).resolve().parent.parent
MiB = 1024 * 1024
# ru_maxrss is in kilobytes on Linux and in bytes on macOS.
RSS_UNIT = 1 if sys.platform == "darwin" else 1024
SHOWN_SKIPS = 5
HALF = "asynclint --no-cache, half the files"


class Probe(Enum):
    """What LibCST does with a file that ``ast.parse`` rejects."""

    PARSED = "parsed by LibCST"
    REJECTED = "rejected by LibCST"
    CRASHED = "crashes LibCST"


@dataclass(frozen=True)
class Corpus:
    """The benchmarked files (inside ``root``) and what became of those ``ast.parse`` rejects."""

    root: Path
    files: tuple[Path, ...]
    lines: int
    ast_rejected: dict[Probe, list[Path]]


@dataclass(frozen=True)
class Run:
    """One timed run; ``errors`` counts files the parser rejected."""

    seconds: float
    cpu_seconds: float
    errors: int | None = None
    peak_rss: int | None = None
    output_lines: int | None = None


@dataclass
class Measure:
    """A thing to time, or the reason it cannot be timed here."""

    label: str
    processes: int
    run: Callable[[], Run] | None
    unavailable: str = ""
    runs: list[Run] = field(default_factory=list)
    failure: str = ""
    prepare: Callable[[], object] | None = None
    """Run once, untimed, before the timed runs (fills a cache)."""
    finish: Callable[[], str] | None = None
    """Run once after the timed runs; returns a note for the report (or "")."""
    note: str = ""


class ToolFailed(Exception):
    """A command-line tool exited with an error despite ``--exit-zero``."""


# --- the file list -----------------------------------------------------------


def sampled(relative: Path, fraction: float) -> bool:
    """Stable per-file choice, so a sample does not change with the package subset."""
    return zlib.crc32(relative.as_posix().encode()) / 2**32 < fraction


def corpus_files(cache: Path, entries: Sequence[corpus.Entry], fraction: float) -> list[Path]:
    files: list[Path] = []
    for entry in entries:
        folder = corpus.source_dir(cache, entry)
        if not folder.is_dir():
            raise corpus.CorpusError(
                f"{folder} is missing; run: python bench/corpus.py --cache {cache}"
            )
        files += [
            path
            for path in corpus.iter_sources(folder)
            if sampled(path.relative_to(folder.parent), fraction)
        ]
    return files


def ast_rejects(path: Path) -> bool:
    try:
        ast.parse(path.read_bytes())
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return True
    return False


def libcst_fails(path: Path) -> int:
    """1 when LibCST cannot parse the file; an int so pool results can be summed."""
    try:
        libcst.parse_module(path.read_bytes())
    except Exception:  # any failure of the parser means "cannot parse" here
        return 1
    return 0


def probe_worker(paths: Sequence[Path], results: Connection) -> None:
    for path in paths:
        results.send(not libcst_fails(path))
    results.close()


def probe_until_crash(paths: Sequence[Path]) -> list[bool]:
    """LibCST's verdict on each path, in a child process; shorter than ``paths`` if it died."""
    context = multiprocessing.get_context()
    receiver, sender = context.Pipe(duplex=False)
    child = context.Process(target=probe_worker, args=(paths, sender))
    child.start()
    sender.close()
    verdicts: list[bool] = []
    try:
        while True:
            verdicts.append(receiver.recv())
    except EOFError:
        child.join()
    return verdicts


def probe_libcst(paths: Sequence[Path]) -> dict[Path, Probe]:
    """Classify files ``ast.parse`` rejects; the child dies on, e.g., deeply nested brackets."""
    outcomes: dict[Path, Probe] = {}
    pending = list(paths)
    while pending:
        verdicts = probe_until_crash(pending)
        for path, parsed in zip(pending, verdicts, strict=False):  # shorter after a crash
            outcomes[path] = Probe.PARSED if parsed else Probe.REJECTED
        if len(verdicts) < len(pending):
            outcomes[pending[len(verdicts)]] = Probe.CRASHED
        pending = pending[len(verdicts) + 1 :]
    return outcomes


def link_tree(cache: Path, source_root: Path, files: Sequence[Path]) -> tuple[Path, list[Path]]:
    """Hard-link ``files`` (below ``source_root``) into one folder per file list, reused by
    later runs."""
    relatives = [path.relative_to(source_root) for path in files]
    digest = hashlib.sha256("\n".join(map(str, relatives)).encode()).hexdigest()[:16]
    root = cache / "bench" / f"tree-{digest}"
    if not root.is_dir():
        root.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=root.parent) as scratch:
            building = Path(scratch) / root.name
            building.mkdir()
            for relative in relatives:
                link_or_copy(source_root / relative, building / relative)
            building.rename(root)
    return root, [root / relative for relative in relatives]


def link_or_copy(origin: Path, destination: Path) -> None:
    destination.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(origin, destination)
    except OSError:  # another file system, or links not supported
        shutil.copyfile(origin, destination)


def build_corpus(cache: Path, entries: Sequence[corpus.Entry], fraction: float) -> Corpus:
    """The file list every measure uses: files LibCST cannot handle are left out."""
    files = corpus_files(cache, entries, fraction)
    if not files:
        raise corpus.CorpusError(f"a sample of {fraction:g} holds no file; take a larger one")
    outcomes = probe_libcst([path for path in files if ast_rejects(path)])
    kept = [path for path in files if outcomes.get(path, Probe.PARSED) is Probe.PARSED]
    by_probe = {probe: [p for p, o in outcomes.items() if o is probe] for probe in Probe}
    root, linked = link_tree(cache, cache / "src", kept)
    return corpus_at(root, linked, by_probe)


def corpus_at(root: Path, files: Sequence[Path], rejected: dict[Probe, list[Path]]) -> Corpus:
    lines = sum(corpus.count_lines(path.read_bytes()) for path in files)
    return Corpus(root, tuple(files), lines, rejected)


def half_of(cache: Path, tree: Corpus) -> Corpus:
    """Every other file of `tree`, for the scaling measure."""
    half = list(tree.files[::2])
    root, linked = link_tree(cache, tree.root, half)
    return corpus_at(root, linked, {})


# --- in-process parsers --------------------------------------------------------


def cpu_seconds() -> float:
    """CPU time of this process and of the children it has waited for.

    Unlike wall time, it does not grow when other programs compete for the cores.
    """
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def in_process(count_errors: Callable[[], int]) -> Run:
    start, cpu_start = time.perf_counter(), cpu_seconds()
    errors = count_errors()
    return Run(time.perf_counter() - start, cpu_seconds() - cpu_start, errors=errors)


def ast_errors(files: Sequence[Path]) -> int:
    return sum(map(ast_rejects, files))


def libcst_errors(files: Sequence[Path], processes: int) -> int:
    """Pool start-up is inside the timing, as it is for ``asynclint --jobs``."""
    if processes == 1:
        return sum(map(libcst_fails, files))
    with multiprocessing.get_context().Pool(processes) as pool:
        errors = sum(pool.imap_unordered(libcst_fails, files, chunksize=8))
        pool.close()
        pool.join()  # reaped workers add their CPU time to RUSAGE_CHILDREN
    return errors


# --- command-line tools --------------------------------------------------------


# A child's ru_maxrss starts at the RSS of the process that forked it (the kernel
# keeps the old memory's high-water mark across exec), so a tool started from
# this large process would report at least this process's size. The tool is
# therefore started from a bare interpreter that imports nothing but os, sys
# and time, and that interpreter reports the tool's figures to the given file.
LAUNCHER = """
import os, sys, time
start = time.perf_counter()
pid = os.posix_spawnp(sys.argv[2], sys.argv[2:], os.environ)
_, status, usage = os.wait4(pid, 0)
with open(sys.argv[1], "w") as report:
    cpu = usage.ru_utime + usage.ru_stime
    report.write(f"{time.perf_counter() - start} {cpu} {usage.ru_maxrss}")
sys.exit(os.waitstatus_to_exitcode(status))
"""


def last_line(text: str) -> str:
    return (text.strip().splitlines() or ["no output"])[-1]


def run_tool(command: Sequence[str], cwd: Path, env: dict[str, str] | None = None) -> Run:
    """Wall time, CPU time and peak RSS (largest single process of its tree) of one run."""
    with tempfile.TemporaryDirectory() as scratch:
        out, err, report = (Path(scratch) / name for name in ("out", "err", "report"))
        launcher = [sys.executable, "-I", "-S", "-c", LAUNCHER, str(report), *command]
        with out.open("wb") as stdout, err.open("wb") as stderr:
            done = subprocess.run(launcher, cwd=cwd, env=env, stdout=stdout, stderr=stderr)
        if done.returncode != 0:
            message = last_line(err.read_text(errors="replace"))
            raise ToolFailed(f"exit {done.returncode}: {message}")
        seconds, cpu, peak = report.read_text().split()
        with out.open("rb") as stdout:
            output_lines = sum(1 for _ in stdout)
    peak_rss = int(peak) * RSS_UNIT
    return Run(float(seconds), float(cpu), peak_rss=peak_rss, output_lines=output_lines)


def python_module(name: str) -> list[str] | None:
    """How to start a tool: as a module of this interpreter, else from PATH."""
    if importlib.util.find_spec(name) is not None:
        return [sys.executable, "-m", name]
    found = shutil.which(name)
    return [found] if found else None


def snapshot(scratch: Path) -> Path:
    """A copy of this checkout's package: what is measured cannot change during the run,
    and asynclint's cache (keyed by its own code) stays valid from one measure to the next.
    Its bytecode is compiled, as an install compiles it: with ``PYTHONDONTWRITEBYTECODE``
    set, every run would otherwise compile asynclint's sources again."""
    target = scratch / "code"
    ignore = shutil.ignore_patterns("__pycache__")
    shutil.copytree(REPO_ROOT / "asynclint", target / "asynclint", ignore=ignore)
    compileall.compile_dir(target / "asynclint", quiet=1)
    return target


def asynclint_env(code: Path) -> dict[str, str]:
    """Make the snapshot importable, whatever is installed."""
    paths = [str(code), os.environ.get("PYTHONPATH", "")]
    return {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, paths))}


@dataclass
class Edits:
    """Appends a different comment to one file of the tree before each run, then counts
    the findings entries the run rewrote (the files it checked again). The tree's hard link
    is replaced, never written through, and put back at the end: the corpus is untouched."""

    cache: Path
    source_root: Path
    tree: Corpus
    asynclint_cache: Path
    command: list[str]
    env: dict[str, str]
    rechecked: list[int] = field(default_factory=list)

    @property
    def target(self) -> Path:
        return self.tree.files[len(self.tree.files) // 2]

    def replace(self, data: bytes | None) -> None:
        """Put `data` (the original file when None) in place through a rename."""
        temporary = self.target.with_name(f".{self.target.name}.bench")
        if data is None:
            link_or_copy(self.source_root / self.target.relative_to(self.tree.root), temporary)
        else:
            temporary.write_bytes(data)
        os.replace(temporary, self.target)

    def run(self) -> Run:
        original = (self.source_root / self.target.relative_to(self.tree.root)).read_bytes()
        self.replace(original + f"\n# edited {len(self.rechecked)}\n".encode())
        started = time.time()
        done = run_tool(self.command, self.tree.root, self.env)
        results = self.asynclint_cache / "results"
        self.rechecked.append(sum(e.stat().st_mtime >= started for e in results.iterdir()))
        return done

    def finish(self) -> str:
        self.replace(None)
        shown = self.target.relative_to(self.tree.root)
        counts = "/".join(map(str, self.rechecked))
        return f"edited {shown}: files checked again per run: {counts} of {len(self.tree.files)}"


def asynclint_measures(
    tree: Corpus, half: Corpus, counts: Sequence[int], cache: Path, scratch: Path
) -> list[Measure]:
    code = snapshot(scratch)
    base = [sys.executable, "-m", "asynclint", "check"]
    env = asynclint_env(code)
    probe = subprocess.run([*base, "--help"], env=env, capture_output=True, text=True)
    if probe.returncode != 0:
        reason = last_line(probe.stderr)
        return [Measure("asynclint check", 1, None, f"CLI not usable yet ({reason})")]
    flags = ["--exit-zero", "--format", "concise", "--select", "ALL"]
    if "--no-cache" not in probe.stdout:
        return [Measure("asynclint check", 1, None, "CLI without --no-cache")]
    cold = [*base, *flags, "--no-cache", "--jobs"]
    measures = [
        Measure(
            f"asynclint --no-cache --jobs {n}",
            n,
            partial(run_tool, [*cold, str(n), "."], tree.root, env),
        )
        for n in counts
    ]
    cores = counts[-1]
    measures.append(
        Measure(
            HALF,
            cores,
            partial(run_tool, [*cold, str(cores), "."], half.root, env),
        )
    )
    asynclint_cache = scratch / "asynclint-cache"
    cached = [*base, *flags, "--cache-dir", str(asynclint_cache), "--jobs", str(cores), "."]
    fill = partial(run_tool, cached, tree.root, env)
    edits = Edits(cache, cache / "src", tree, asynclint_cache, cached, env)
    measures.append(Measure("asynclint, warm cache", cores, fill, prepare=fill))
    measures.append(
        Measure("asynclint, one file edited", cores, edits.run, prepare=fill, finish=edits.finish)
    )
    return measures


def ruff_measure(tree: Corpus, jobs: int, path: str | None) -> Measure:
    label = "ruff check --select ASYNC,RUF006"
    ruff = [path] if path else python_module("ruff")
    if ruff is None:
        return Measure(label, jobs, None, "not installed")
    # --isolated: no configuration file can change what is checked.
    flags = ["check", "--isolated", "--no-cache", "--exit-zero", "--select", "ASYNC,RUF006"]
    flags += ["--target-version", "py313", "--output-format", "concise", "."]
    return Measure(label, jobs, partial(run_tool, [*ruff, *flags], tree.root))


def flake8_measure(tree: Corpus, jobs: int, skip: bool, path: str | None) -> Measure:
    label = "flake8 --select ASYNC"
    flake8 = [path] if path else python_module("flake8")
    if skip:
        return Measure(label, jobs, None, "skipped (--skip-flake8)")
    if flake8 is None:
        return Measure(label, jobs, None, "not installed")
    version = subprocess.run([*flake8, "--version"], capture_output=True, text=True)
    if "flake8-async" not in version.stdout:
        return Measure(label, jobs, None, "flake8-async not installed")
    flags = ["--isolated", "--exit-zero", "--select", "ASYNC", "--jobs", str(jobs)]
    flags += ["--filename", "*.py,*.pyi", "."]
    return Measure(label, jobs, partial(run_tool, [*flake8, *flags], tree.root))


def all_measures(
    tree: Corpus, half: Corpus, args: argparse.Namespace, scratch: Path
) -> list[Measure]:
    cores = os.cpu_count() or 1
    counts = sorted({1, cores})
    files = tree.files
    measures = [Measure("ast.parse", 1, partial(in_process, partial(ast_errors, files)))]
    measures += [
        Measure("libcst.parse_module", n, partial(in_process, partial(libcst_errors, files, n)))
        for n in counts
    ]
    measures += asynclint_measures(tree, half, counts, args.cache, scratch)
    measures.append(ruff_measure(tree, cores, args.ruff))
    measures.append(flake8_measure(tree, cores, args.skip_flake8, args.flake8))
    return measures


# --- running and reporting ----------------------------------------------------


def execute(measures: Sequence[Measure], repeat: int) -> None:
    """Time every measure `repeat` times, one run of each per round: the machine's speed
    drifts (a shared virtual machine's more than most), and a drift then weighs on every
    measure alike instead of on whichever ran during it. Measures with state of their own
    (a cache they fill, a file they edit) are timed after, one at a time: the warm run
    must not follow an edit."""
    stateless = [m for m in measures if m.run is not None and m.prepare is None]
    for round_number in range(1, repeat + 1):
        for measure in stateless:
            if not measure.failure:
                print(f"round {round_number}/{repeat}: {measure.label}", file=sys.stderr)
                _attempt(measure, partial(_run_once, measure))
    for measure in measures:
        if measure.run is None or measure.prepare is None:
            continue
        print(f"timing {measure.label} x{repeat}", file=sys.stderr)
        _attempt(measure, measure.prepare)
        for _ in range(repeat):
            if not measure.failure:
                _attempt(measure, partial(_run_once, measure))
        if measure.finish is not None:
            measure.note = measure.finish()


def _run_once(measure: Measure) -> None:
    assert measure.run is not None
    measure.runs.append(measure.run())


def _attempt(measure: Measure, step: Callable[[], object]) -> None:
    try:
        step()
    except ToolFailed as error:
        measure.failure = str(error)


def libcst_floor(measures: Sequence[Measure]) -> dict[int, float]:
    """Median LibCST parse time by process count: the denominator of every ratio."""
    return {
        m.processes: statistics.median(run.seconds for run in m.runs)
        for m in measures
        if m.label == "libcst.parse_module" and m.runs
    }


def median(measure: Measure) -> float:
    return statistics.median(run.seconds for run in measure.runs)


def cpu_median(measure: Measure) -> float:
    return statistics.median(run.cpu_seconds for run in measure.runs)


def format_row(measure: Measure, tree: Corpus, floor: dict[int, float]) -> str:
    head = f"{measure.label:<36} {measure.processes:>5}"
    if not measure.runs:
        return f"{head}  {measure.unavailable or 'failed: ' + measure.failure}"
    seconds = median(measure)
    cpu = cpu_median(measure)
    last = measure.runs[-1]
    ratio = f"{seconds / floor[measure.processes]:.2f}x" if measure.processes in floor else "-"
    peaks = [run.peak_rss for run in measure.runs if run.peak_rss is not None]
    rss = f"{max(peaks) / MiB:.0f} MiB" if peaks else "-"
    count = last.errors if last.errors is not None else last.output_lines
    figures = f"{seconds:>9.2f} {cpu:>9.2f} {len(tree.files) / seconds:>9.0f}"
    figures += f" {tree.lines / seconds:>10.0f}"
    return f"{head} {figures} {ratio:>8} {rss:>9} {count if count is not None else '-':>8}"


def report_corpus(tree: Corpus, entries: Sequence[corpus.Entry], fraction: float) -> None:
    load = os.getloadavg()[0]  # other work on the machine skews the multi-process figures
    print(f"python {platform.python_version()}, libcst {version('libcst')}, ", end="")
    print(f"{os.cpu_count()} cpus, load average {load:.2f} before the run")
    names = ", ".join(entry.dirname for entry in entries)
    print(f"corpus: {len(tree.files)} files, {tree.lines} lines (sample {fraction:g}) of {names}")
    print(f"file tree: {tree.root}")
    for probe, paths in tree.ast_rejected.items():
        if paths:
            left_out = "left out" if probe is not Probe.PARSED else "kept; ast.parse errors"
            print(f"ast.parse rejects {len(paths)} file(s) {probe.value} ({left_out})")
            for path in paths[:SHOWN_SKIPS]:
                print(f"    {path}")


def report(measures: Sequence[Measure], tree: Corpus, half: Corpus) -> None:
    floor = libcst_floor(measures)
    print(
        f"{'measure':<36} {'procs':>5} {'seconds':>9} {'cpu s':>9} {'files/s':>9} {'lines/s':>10}"
        f" {'vs LibCST':>8} {'peak RSS':>9} {'errs/out':>8}"
    )
    for measure in measures:
        print(format_row(measure, half if measure.label == HALF else tree, floor))
    for measure in measures:
        if measure.note:
            print(f"{measure.label}: {measure.note}")
    print(f"half the files: {len(half.files)} files, {half.lines} lines")
    print("goals (issue 8):")
    for line in goals(measures, tree, half, floor):
        print(f"  {line}")


def verdict(text: str, value: float, limit: float, at_most: bool = True) -> str:
    met = value <= limit if at_most else value >= limit
    bound = f"{'<=' if at_most else '>='} {limit:g}"
    return f"{text}: {value:.2f} (goal {bound}) {'met' if met else 'NOT met'}"


def goals(
    measures: Sequence[Measure], tree: Corpus, half: Corpus, floor: dict[int, float]
) -> list[str]:
    """Each goal of the issue with the measured figure, where both sides were measured."""
    seconds = {m.label: median(m) for m in measures if m.runs}
    cores = max(floor, default=1)
    found = [
        verdict(f"cold, {n} proc, / LibCST parse-only, {n} proc", seconds[label] / floor[n], 2)
        + _per_round(measures, label, n)
        for n in sorted(floor)
        if (label := f"asynclint --no-cache --jobs {n}") in seconds
    ]
    cold = seconds.get(f"asynclint --no-cache --jobs {cores}")
    flake8 = seconds.get("flake8 --select ASYNC")
    if flake8 is not None and cold is not None:
        found.append(verdict("flake8-async / asynclint cold", flake8 / cold, 12, False))
    warm = seconds.get("asynclint, warm cache")
    ruff = seconds.get("ruff check --select ASYNC,RUF006")
    if warm is not None and ruff is not None:
        found.append(verdict("warm run / ruff", warm / ruff, 3))
    serial = seconds.get("asynclint --no-cache --jobs 1")
    if cores > 1 and serial is not None and cold is not None:
        found.append(verdict(f"--jobs {cores} / --jobs 1", cold / serial, 0.6))
    peaks = [
        run.peak_rss / MiB
        for measure in measures
        if measure.label.startswith("asynclint")
        for run in measure.runs
        if run.peak_rss is not None
    ]
    if peaks:
        found.append(verdict("largest asynclint process, MiB", max(peaks), 600))
    timed = {m.label: m for m in measures if m.runs}
    whole, part = timed.get(f"asynclint --no-cache --jobs {cores}"), timed.get(HALF)
    if whole is not None and part is not None:
        wall = (median(whole) / len(tree.files)) / (median(part) / len(half.files))
        cpu = (cpu_median(whole) / len(tree.files)) / (cpu_median(part) / len(half.files))
        found.append(
            f"time per file, all files / half of them: {wall:.2f}, CPU time {cpu:.2f} (1 is linear)"
        )
        found.append(_start_up(median(whole), median(part), len(tree.files), len(half.files)))
    return found


def _per_round(measures: Sequence[Measure], label: str, processes: int) -> str:
    """The ratio within each round, both timed seconds apart: the machine's speed drifts
    over a run (a shared virtual machine's by a fifth), and a drift between the two
    medians' rounds moves the ratio of medians."""
    timed = {(m.label, m.processes): m.runs for m in measures}
    ours, parse = timed.get((label, processes), []), timed.get(("libcst.parse_module", processes))
    if not ours or not parse or len(ours) != len(parse):
        return ""
    ratios = ", ".join(f"{a.seconds / b.seconds:.2f}" for a, b in zip(ours, parse, strict=True))
    return f"; by round: {ratios}"


def _start_up(whole: float, part: float, files: int, half: int) -> str:
    """The line through both runs: what a run costs before its first file (start-up, the
    workers' first use of the tables), and per file after. A fixed start-up makes the
    smaller run's time per file larger without any file costing more."""
    per_file = (whole - part) / (files - half) if files != half else 0.0
    fixed = part - per_file * half
    return f"  as a line: {fixed:.2f} s per run + {per_file * 1000:.1f} ms per file"


def fraction_arg(text: str) -> float:
    value = float(text)
    if not 0 < value <= 1:
        raise argparse.ArgumentTypeError(f"must be in (0, 1], got {text}")
    return value


def positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {text}")
    return value


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", type=Path, default=corpus.default_cache(), help="corpus cache")
    parser.add_argument("--packages", help="comma-separated subset, e.g. aiohttp,asyncio")
    parser.add_argument("--sample", type=fraction_arg, default=1.0, help="fraction of files")
    parser.add_argument("--repeat", type=positive_int, default=3, help="runs per measure")
    parser.add_argument("--skip-flake8", action="store_true", help="do not time flake8-async")
    parser.add_argument("--flake8", help="flake8 executable (with flake8-async installed)")
    parser.add_argument("--ruff", help="ruff executable")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    cache: Path = args.cache.expanduser().resolve()
    try:
        entries = corpus.select(args.packages.split(",") if args.packages else None)
        tree = build_corpus(cache, entries, args.sample)
    except (corpus.CorpusError, OSError) as error:
        print(f"bench_check.py: error: {error}", file=sys.stderr)
        return 1
    args.cache = cache
    half = half_of(cache, tree)
    report_corpus(tree, entries, args.sample)
    sys.stdout.flush()  # keep the header above the progress lines on a terminal
    with tempfile.TemporaryDirectory(prefix="bench-check-") as scratch:
        measures = all_measures(tree, half, args, Path(scratch))
        execute(measures, args.repeat)
    report(measures, tree, half)
    return 0


if __name__ == "__main__":
    sys.exit(main())
