"""``--format sarif``: SARIF 2.1.0, as GitHub code scanning and SARIF viewers read it.

Paths stay relative to ``%SRCROOT%`` (the directory asynclint ran in, which the uploader
maps to the checkout), so the log does not depend on where the checkout lives.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Mapping
from pathlib import PurePath
from typing import Any
from urllib.parse import quote

import asynclint
from asynclint.diagnostic import Diagnostic, Fix, RunResult
from asynclint.render.snippet import SourceLines
from asynclint.rule import Rule

SCHEMA_URI = (
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
)
INFORMATION_URI = "https://github.com/asynclint/asynclint"
SRCROOT = "%SRCROOT%"
ERROR_CODES = frozenset({"ASL900"})
"""Codes reported at level ``error``: the file could not be checked at all."""
FAMILY_TAGS = {
    "ASL1": "coroutine-lifecycle",
    "ASL2": "cancellation",
    "ASL3": "blocking",
    "ASL4": "concurrency",
    "ASL5": "testing",
    "ASL9": "meta",
}


def render(
    result: RunResult,
    rules: Mapping[str, type[Rule]],
    *,
    color: bool,
    statistics: bool,
) -> str:
    """A log with one run; `rules` (the enabled rules, by code) all become descriptors."""
    names = {diagnostic.code: diagnostic.name for diagnostic in result.diagnostics}
    codes = sorted(set(rules) | set(names))
    descriptors = [
        _descriptor(rules[code]) if code in rules else _bare_descriptor(code, names[code])
        for code in codes
    ]
    driver = {
        "name": "asynclint",
        "informationUri": INFORMATION_URI,
        "version": asynclint.__version__,
        "semanticVersion": asynclint.__version__,
        "rules": descriptors,
    }
    invocation: dict[str, Any] = {"executionSuccessful": True}
    if result.errors:
        invocation["toolExecutionNotifications"] = [
            {"level": "error", "message": {"text": error}} for error in result.errors
        ]
    run = {
        "tool": {"driver": driver},
        "invocations": [invocation],
        "originalUriBaseIds": {
            SRCROOT: {"description": {"text": "The directory asynclint was run from."}}
        },
        "columnKind": "unicodeCodePoints",
        "results": _results(result, {code: index for index, code in enumerate(codes)}),
    }
    log = {"$schema": SCHEMA_URI, "version": "2.1.0", "runs": [run]}
    return json.dumps(log, indent=2, ensure_ascii=False) + "\n"


def _level(code: str) -> str:
    return "error" if code in ERROR_CODES else "warning"


def _tags(code: str) -> list[str]:
    family = FAMILY_TAGS.get(code[:4])
    return ["asyncio", family] if family else ["asyncio"]


def _descriptor(rule: type[Rule]) -> dict[str, Any]:
    documentation = rule.documentation()
    what = " ".join(rule.doc_sections().get("What it does", "").split())
    return {
        "id": rule.code,
        "name": rule.name,
        "shortDescription": {"text": rule.summary()},
        "fullDescription": {"text": what},
        "help": {"text": documentation, "markdown": documentation},
        "helpUri": rule.help_uri(),
        "defaultConfiguration": {"level": _level(rule.code)},
        "properties": {"tags": _tags(rule.code)},
    }


def _bare_descriptor(code: str, name: str) -> dict[str, Any]:
    """For a code that was reported but not passed in: every result needs its rule."""
    return {
        "id": code,
        "name": name,
        "defaultConfiguration": {"level": _level(code)},
        "properties": {"tags": _tags(code)},
    }


def _results(result: RunResult, rule_index: Mapping[str, int]) -> list[dict[str, Any]]:
    sources = SourceLines(result.sources)
    occurrences: Counter[tuple[str, str]] = Counter()
    results = []
    for diagnostic in result.diagnostics:
        location = _artifact_location(diagnostic.path)
        key = _fingerprint_key(diagnostic, sources.line(diagnostic.path, diagnostic.line) or "")
        occurrences[diagnostic.path, key] += 1
        entry: dict[str, Any] = {
            "ruleId": diagnostic.code,
            "ruleIndex": rule_index[diagnostic.code],
            "level": _level(diagnostic.code),
            "message": {"text": diagnostic.message},
            "locations": [
                {
                    "physicalLocation": {
                        "artifactLocation": location,
                        "region": _region(
                            diagnostic.line,
                            diagnostic.column,
                            diagnostic.end_line,
                            diagnostic.end_column,
                        ),
                    }
                }
            ],
            "partialFingerprints": {
                "primaryLocationLineHash": f"{key}:{occurrences[diagnostic.path, key]}"
            },
        }
        if diagnostic.fix is not None and _expressible(diagnostic.fix):
            entry["fixes"] = [_fix(diagnostic.fix, location)]
        results.append(entry)
    return results


def _artifact_location(path: str) -> dict[str, str]:
    """A relative path becomes a URI relative to ``%SRCROOT%``; an absolute one a file URI."""
    pure = PurePath(path)
    if pure.is_absolute():
        return {"uri": pure.as_uri()}
    return {"uri": quote(pure.as_posix(), safe="/"), "uriBaseId": SRCROOT}


def _fingerprint_key(diagnostic: Diagnostic, source_line: str) -> str:
    """A hash of the code and the whitespace-normalised line, independent of line numbers.

    Lines inserted above leave it unchanged, so code scanning keeps tracking the same alert;
    the occurrence index appended to it tells identical lines in one file apart.
    """
    text = f"{diagnostic.code}\0{' '.join(source_line.split())}"
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:16]


def _region(line: int, column: int, end_line: int, end_column: int) -> dict[str, int]:
    return {"startLine": line, "startColumn": column, "endLine": end_line, "endColumn": end_column}


def _expressible(fix: Fix) -> bool:
    """SARIF replacements cannot add the imports a fix needs, so such fixes are left out."""
    return bool(fix.edits) and not fix.imports


def _fix(fix: Fix, location: Mapping[str, str]) -> dict[str, Any]:
    replacements = [
        {
            "deletedRegion": _region(edit.line, edit.column, edit.end_line, edit.end_column),
            "insertedContent": {"text": edit.content},
        }
        for edit in fix.edits
    ]
    return {
        "description": {"text": fix.title},
        "artifactChanges": [{"artifactLocation": dict(location), "replacements": replacements}],
    }
