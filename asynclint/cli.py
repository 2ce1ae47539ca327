"""The ``asynclint`` command: ``check``, ``rules``, ``rule``.

Exit status follows ruff: 0 nothing found, 1 findings, 2 usage, configuration or internal
error. Errors print one line; a traceback only with ``--verbose``.
"""

from __future__ import annotations

import json
import os
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path

import click

from asynclint import __version__, index, parallel
from asynclint.config import ConfigError, ConfigResolver, Selection, enabled_codes, ignored_for
from asynclint.diagnostic import RunResult
from asynclint.discovery import STDIN, discover
from asynclint.docs import write_rule_docs
from asynclint.engine import FileJob, FileResult
from asynclint.registry import UnknownSelector, all_rules, get_rule
from asynclint.render import DEFAULT_FORMAT, FORMATS

EXIT_CLEAN, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2


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
) -> None:
    """Check PATHS (default: the current directory); `-` reads standard input."""
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
            )
        )
    workers = jobs or os.cpu_count() or 1
    on_disk = [job.path for job in file_jobs if job.data is None]
    index.set_active(parallel.build_index(on_disk, workers))
    results = parallel.run(file_jobs, workers)
    result = _collect(results, list(found.errors))
    rules = {rule.code: rule for rule in all_rules() if rule.code in enabled}
    text = FORMATS[output_format](
        result, rules, color=_use_color(output_file), statistics=statistics
    )
    if quiet and output_format in ("text", "concise") and not statistics:
        text = _without_summary(text)
    _write(text, output_file)
    internal = any(r.internal for r in results)
    if internal or found.errors or any(r.error for r in results):
        sys.exit(EXIT_ERROR)
    sys.exit(EXIT_FINDINGS if result.diagnostics and not exit_zero else EXIT_CLEAN)


def _collect(results: Sequence[FileResult], errors: list[str]) -> RunResult:
    diagnostics = sorted((d for r in results for d in r.diagnostics), key=lambda d: d.sort_key())
    sources = {r.path: r.text for r in results if r.diagnostics and r.text is not None}
    errors = errors + [f"{r.path}: {r.error}" for r in results if r.error]
    return RunResult(diagnostics, sources, len(results), errors)


def _without_summary(text: str) -> str:
    """``--quiet``: the findings (and error lines) without the closing summary."""
    lines = text.rstrip("\n").split("\n")
    body = lines[:-1] if lines else []
    while body and not body[-1].strip():
        body.pop()
    return "\n".join(body) + "\n" if body else ""


def _write(text: str, output_file: str | None) -> None:
    if output_file is None:
        click.echo(text, nl=False)
        return
    Path(output_file).write_text(text, encoding="utf-8")


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
        error.show()
        sys.exit(EXIT_ERROR)
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        sys.exit(EXIT_ERROR)
    except (ConfigError, UnknownSelector, OSError) as error:
        click.echo(f"asynclint: error: {error}", err=True)
        sys.exit(EXIT_ERROR)
    except Exception as error:  # internal error: one line unless --verbose
        if verbose:
            traceback.print_exc()
        click.echo(f"asynclint: internal error: {type(error).__name__}: {error}", err=True)
        sys.exit(EXIT_ERROR)
