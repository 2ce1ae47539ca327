"""The ``asynclint`` command: ``check``, ``rules``, ``rule``.

Exit status follows ruff: 0 nothing found, 1 findings, 2 usage, configuration or internal
error. Errors print one line; a traceback only with ``--verbose``.

What a check needs beyond its options (LibCST, the rules, the index, the workers) is
imported once the run record (:mod:`asynclint.replay`) could not answer: a repeated run over
unchanged files starts and ends without it.
"""

from __future__ import annotations

import json
import os
import sys
import traceback
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

import click

from asynclint import __version__, cachedir, replay
from asynclint.cachedir import CacheError
from asynclint.config import ConfigResolver, Selection, enabled_codes, ignored_for
from asynclint.diagnostic import RunResult
from asynclint.discovery import STDIN, discover
from asynclint.docs import write_rule_docs
from asynclint.errors import UsageError
from asynclint.registry import UnknownSelector, all_rules, get_rule
from asynclint.render import DEFAULT_FORMAT, FORMATS, renderer

if TYPE_CHECKING:
    from asynclint.engine import FileJob, FileResult

EXIT_CLEAN, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2
OUT_OF_BAND_ERRORS = frozenset({"json", "sarif"})
"""Formats whose output has no room for the paths that could not be checked (json) or
where a terminal never sees them (sarif, written for a code-scanning upload): those paths
are also reported on stderr, one ``error: ...`` line each."""


def _selectors(values: Sequence[str]) -> tuple[str, ...]:
    """``--select A,B --select C`` → ("A", "B", "C")."""
    return tuple(item.strip() for value in values for item in value.split(",") if item.strip())


def _use_color(output_file: str | None) -> bool:
    if output_file or "NO_COLOR" in os.environ:
        return False
    return "FORCE_COLOR" in os.environ or sys.stdout.isatty()


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="asynclint")
def cli() -> None:
    """Find asyncio bugs before production does."""


@cli.command()
@click.argument("paths", nargs=-1)
@click.option("--select", multiple=True, help="Rules to enable (codes, prefixes, names).")
@click.option("--ignore", multiple=True, help="Rules to disable.")
@click.option("--extend-select", multiple=True, help="Rules to enable on top of the selection.")
@click.option(
    "--format",
    "output_format",
    type=click.Choice(sorted(FORMATS)),
    default=DEFAULT_FORMAT,
    show_default=True,
)
@click.option("--output-file", "-o", type=click.Path(dir_okay=False), help="Write output here.")
@click.option("--statistics", is_flag=True, help="Count findings per rule instead of listing them.")
@click.option("--exit-zero", is_flag=True, help="Exit 0 even when there are findings.")
@click.option("--jobs", "-j", type=click.IntRange(min=1), help="Worker processes [all cores].")
@click.option("--config", "config_file", type=click.Path(dir_okay=False), help="Config file.")
@click.option("--isolated", is_flag=True, help="Ignore all configuration files.")
@click.option("--stdin-filename", help="The path to report for `-` (standard input).")
@click.option("--quiet", "-q", is_flag=True, help="Print findings only, no summary.")
@click.option("--verbose", "-v", is_flag=True, help="Show tracebacks of internal errors.")
@click.option("--fix", is_flag=True, help="Apply safe fixes, then report what remains.")
@click.option("--unsafe-fixes", is_flag=True, help="Also apply unsafe fixes (with a fix option).")
@click.option("--fix-only", is_flag=True, help="Apply fixes; do not report what remains.")
@click.option("--diff", is_flag=True, help="Print the fixes as a unified diff; write nothing.")
@click.option("--python", help="Resolve installed packages in this interpreter's environment.")
@click.option("--no-cache", is_flag=True, help="Neither read nor write the cache.")
@click.option("--cache-dir", type=click.Path(file_okay=False), help="The cache's folder.")
@click.version_option(__version__, "--version", prog_name="asynclint")
def check(
    paths: tuple[str, ...],
    select: tuple[str, ...],
    ignore: tuple[str, ...],
    extend_select: tuple[str, ...],
    output_format: str,
    output_file: str | None,
    statistics: bool,
    exit_zero: bool,
    jobs: int | None,
    config_file: str | None,
    isolated: bool,
    stdin_filename: str | None,
    quiet: bool,
    verbose: bool,
    fix: bool,
    unsafe_fixes: bool,
    fix_only: bool,
    diff: bool,
    python: str | None,
    no_cache: bool,
    cache_dir: str | None,
) -> None:
    """Check PATHS (default: the current directory); `-` reads standard input."""
    color = _use_color(output_file)
    record = None
    if not (no_cache or fix or fix_only or diff or STDIN in paths):
        record = _replay(cache_dir, config_file, isolated, color)
        if record is not None and record.found is not None:
            _write(record.found.output, output_file, color=color)
            sys.exit(record.found.status)
    from asynclint import cache, index, parallel, project
    from asynclint.engine import FileJob
    from asynclint.fixer import FixRequest
    from asynclint.render.styling import emit, errors

    request = FixRequest(unsafe_fixes, diff) if fix or fix_only or diff else None
    selection = Selection(
        select=_selectors(select),
        ignore=_selectors(ignore),
        extend_select=_selectors(extend_select),
    )
    resolver = ConfigResolver(config_file, isolated=isolated)
    found = discover(list(paths), resolver)
    file_jobs = []
    enabled: set[str] = set()
    for source in found.files:
        codes = enabled_codes(source.config, selection)
        enabled |= codes
        data = None
        path = source.path
        if path == STDIN:
            data = sys.stdin.buffer.read()
            path = stdin_filename or STDIN
        file_jobs.append(
            FileJob(
                path,
                codes - ignored_for(source.config, path),
                source.config.rule_options,
                data,
                verbose,
                fix=request,
            )
        )
    workers = jobs or os.cpu_count() or 1
    on_disk = [job.path for job in file_jobs if job.data is None]
    configs = [source.config for source in found.files]
    store = None if no_cache else _store(resolver, cache_dir)
    session = None if store is None else cache.start(store)
    try:
        index.set_active(project.build_index(on_disk, configs, python, workers))
        if session is not None:
            keys = session.keys(index.active())
            file_jobs = [replace(job, cache_key=keys.get(job.path, "")) for job in file_jobs]
        results = parallel.run(file_jobs, workers)
        if session is not None:
            session.finish()
    finally:
        cache.stop()
    fixed = _fixed_count(results)
    if request is not None and not diff:
        _write_stdin_sources(file_jobs, results)
    if diff or fix_only:
        sys.exit(_fixes_only(results, list(found.errors), fixed, diff, quiet, output_file))
    result = _collect(results, list(found.errors))
    rules = {rule.code: rule for rule in all_rules() if rule.code in enabled}
    text = renderer(output_format)(result, rules, color=color, statistics=statistics)
    if output_format in OUT_OF_BAND_ERRORS:
        click.echo(emit(errors(result.errors), color=False), nl=False, err=True)
    if quiet and output_format in ("text", "concise"):
        text = _without_summary(text)
    elif fixed and output_format in ("text", "concise"):
        text = _with_fix_summary(text, fixed, len(result.diagnostics))
    elif fixed and not quiet:
        click.echo(f"Fixed {_problems(fixed)}.", err=True)
    stdin_fixed = request is not None and any(job.data is not None for job in file_jobs)
    _write(text, output_file, err=stdin_fixed, color=color)
    if result.errors or any(r.internal for r in results):
        sys.exit(EXIT_ERROR)
    status = EXIT_FINDINGS if result.diagnostics and not exit_zero else EXIT_CLEAN
    if record is not None and session is not None:
        watched = replay.watched(
            on_disk,
            found.folders,
            config_file,
            session.environment.files,
            session.environment.folders,
        )
        replay.save(session.store, record.name, replay.Recorded(text, status), watched)
    sys.exit(status)


@dataclass(frozen=True)
class _Record:
    """The run record of this command (:mod:`asynclint.replay`): its name, and what it holds
    when nothing changed."""

    name: str
    found: replay.Recorded | None


def _replay(
    cache_dir: str | None, config_file: str | None, isolated: bool, color: bool
) -> _Record | None:
    directory = replay.folder(cache_dir, config_file, isolated)
    if directory is None:
        return None
    name = replay.key(click.get_current_context().params, color)
    return _Record(name, replay.lookup(directory, name))


def _store(resolver: ConfigResolver, option: str | None) -> cachedir.Store | None:
    """The cache of the working directory's configuration; None (with a warning) when its
    folder cannot be used."""
    config = resolver.for_directory(os.curdir)
    store = cachedir.Store(cachedir.location(option, config.cache_dir, config.root))
    try:
        store.prepare()
    except CacheError as error:
        click.echo(f"asynclint: warning: {error}; running without the cache", err=True)
        return None
    return store


def _collect(results: Sequence[FileResult], errors: list[str]) -> RunResult:
    diagnostics = sorted((d for r in results for d in r.diagnostics), key=lambda d: d.sort_key())
    sources = {r.path: r.text for r in results if r.diagnostics and r.text is not None}
    errors = errors + [f"{r.path}: {r.error}" for r in results if r.error]
    return RunResult(diagnostics, sources, len(results), errors)


def _fixed_count(results: Sequence[FileResult]) -> int:
    """Fixes applied over the run; each fix that was left out is reported on stderr."""
    for result in results:
        for note in result.fix.dropped if result.fix else ():
            click.echo(f"asynclint: warning: {note}", err=True)
    return sum(result.fix.fixed for result in results if result.fix)


def _write_stdin_sources(jobs: Sequence[FileJob], results: Sequence[FileResult]) -> None:
    """``-`` with a fix option: the (fixed) source goes to stdout, whatever was fixed."""
    for job, result in zip(jobs, results, strict=True):
        if job.data is not None:
            output = result.fix.output if result.fix else None
            sys.stdout.buffer.write(job.data if output is None else output)
            sys.stdout.buffer.flush()


def _fixes_only(
    results: Sequence[FileResult],
    errors: list[str],
    fixed: int,
    diff: bool,
    quiet: bool,
    output_file: str | None,
) -> int:
    """``--diff`` and ``--fix-only``: report what was (or would be) fixed, not what remains.

    ``--diff`` exits 1 when there is something to fix; ``--fix-only`` exits 0; both exit 2
    when a file could not be checked or written.
    """
    errors = errors + [f"{r.path}: {r.error}" for r in results if r.error]
    for line in errors:
        click.echo(f"error: {line}", err=True)
    if diff:
        _write("".join(r.fix.diff for r in results if r.fix), output_file)
        if fixed and not quiet:
            click.echo(f"Would fix {_problems(fixed)}.", err=True)
    elif fixed and not quiet:
        stdin = any(r.fix and r.fix.output is not None for r in results)
        click.echo(f"Fixed {_problems(fixed)}.", err=stdin)
    if errors:
        return EXIT_ERROR
    return EXIT_FINDINGS if diff and fixed else EXIT_CLEAN


def _problems(count: int) -> str:
    return f"{count} problem" if count == 1 else f"{count} problems"


def _with_fix_summary(text: str, fixed: int, remaining: int) -> str:
    """The closing line after ``--fix``, as ruff words it:
    ``Found 3 problems (2 fixed, 1 remaining).``"""
    lines = text.rstrip("\n").split("\n")
    lines[-1] = f"Found {_problems(fixed + remaining)} ({fixed} fixed, {remaining} remaining)."
    return "\n".join(lines) + "\n"


def _without_summary(text: str) -> str:
    """``--quiet``: the findings (and error lines) without the closing summary."""
    lines = text.rstrip("\n").split("\n")
    body = lines[:-1] if lines else []
    while body and not body[-1].strip():
        body.pop()
    return "\n".join(body) + "\n" if body else ""


def _write(text: str, output_file: str | None, err: bool = False, color: bool = False) -> None:
    """To `output_file`, else stdout (stderr when stdout carries a fixed source).

    `color` keeps the styling that click would otherwise strip off a pipe (``FORCE_COLOR``).
    """
    if output_file is None:
        click.echo(text, nl=False, err=err, color=True if color else None)
        return
    Path(output_file).write_text(text, encoding="utf-8")


@cli.command("clean")
@click.option("--cache-dir", type=click.Path(file_okay=False), help="The cache's folder.")
@click.option("--config", "config_file", type=click.Path(dir_okay=False), help="Config file.")
def clean_command(cache_dir: str | None, config_file: str | None) -> None:
    """Remove the cache `check` uses when run from here."""
    config = ConfigResolver(config_file).for_directory(os.curdir)
    directory = cachedir.location(cache_dir, config.cache_dir, config.root)
    shown = os.path.relpath(directory) if directory.is_relative_to(os.getcwd()) else directory
    if cachedir.clean(directory):
        click.echo(f"Removed {shown}")
    else:
        click.echo(f"No cache at {shown}")


@cli.command("rules")
@click.option("--format", "output_format", type=click.Choice(["text", "json"]), default="text")
@click.option(
    "--write-docs",
    type=click.Path(file_okay=False),
    help="Write docs/rules/ASLnnn.md for every rule into this directory.",
)
def rules_command(output_format: str, write_docs: str | None) -> None:
    """List every rule: code, name, fix availability, default on/off."""
    if write_docs is not None:
        written = write_rule_docs(Path(write_docs))
        click.echo(f"wrote {len(written)} files to {write_docs}")
        return
    entries = [
        {
            "code": rule.code,
            "name": rule.name,
            "summary": rule.summary(),
            "fix": rule.fix_applicability.value if rule.fix_applicability else None,
            "default": rule.default_enabled,
        }
        for rule in all_rules()
    ]
    if output_format == "json":
        click.echo(json.dumps(entries, indent=2))
        return
    for entry in entries:
        fix = "[*]" if entry["fix"] else "[ ]"
        default = "on " if entry["default"] else "off"
        click.echo(f"{entry['code']}  {fix}  {default}  {entry['name']}: {entry['summary']}")


@cli.command("rule")
@click.argument("key")
def rule_command(key: str) -> None:
    """Print the documentation of a rule, by code or name."""
    try:
        rule = get_rule(key)
    except UnknownSelector as error:
        raise click.UsageError(str(error)) from None
    click.echo(rule.documentation(), nl=False)


@cli.command("run", context_settings={"ignore_unknown_options": True})
@click.option(
    "--mode",
    default="strict",
    show_default=True,
    help="Sanitizer mode: strict (fail), warn, report.",
)
@click.argument("command", nargs=-1, type=click.UNPROCESSED, required=True)
def run_command(mode: str, command: tuple[str, ...]) -> None:
    """Run COMMAND with the asyncsan runtime sanitizer on: `asynclint run -- pytest -x`."""
    from asynclint.sanitizer import run_command as sanitized
    from asynclint.sanitizer.config import ConfigError as SanitizerConfigError

    try:
        status = sanitized(list(command), mode)
    except SanitizerConfigError as error:
        click.echo(f"asyncsan: {error}", err=True)
        status = EXIT_ERROR
    sys.exit(status)


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point: every expected failure is one line and exit status 2."""
    verbose = "-v" in (argv or sys.argv) or "--verbose" in (argv or sys.argv)
    try:
        cli.main(args=argv, prog_name="asynclint", standalone_mode=False)
    except click.ClickException as error:
        click.echo(f"asynclint: error: {error.format_message()}", err=True)
        sys.exit(EXIT_ERROR)
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        sys.exit(EXIT_ERROR)
    except (UsageError, OSError) as error:
        click.echo(f"asynclint: error: {error}", err=True)
        sys.exit(EXIT_ERROR)
    except Exception as error:  # internal error: one line unless --verbose
        if verbose:
            traceback.print_exc()
        click.echo(f"asynclint: internal error: {type(error).__name__}: {error}", err=True)
        sys.exit(EXIT_ERROR)
