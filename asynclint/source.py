"""Bytes to a LibCST module, without ever taking the worker process down.

Decoding follows CPython: a UTF-8 byte order mark, else a PEP 263 coding declaration on line 1
or 2, else UTF-8. Parsing is guarded, because LibCST's native parser is recursive and has no
depth check: deep input overflows the stack and the process dies with SIGSEGV. Measured with
LibCST 1.9.0 on x86-64 Linux, native stack per level of nesting:

* bracket (parenthesis, list, call, subscript, f-string field): about 7 KB, so the 8 MB main
  thread dies at about 1,270 nested parentheses;
* indented block (``def``, ``if``, ``with``...): about 25 KB (macOS gives other threads 512 KB:
  20 nested blocks); LibCST itself refuses more than 100 levels, cleanly;
* chained operator, attribute, call, unary operator, comprehension ``for``: 1.2 KB, lambda
  2.4 KB (``1+1+...`` dies at about 7,000 terms, and so does ``a and a and ...``);
* adjacent string: 0.8 KB, but LibCST refuses more than 3,000 ("expected one of STRING");
* ``elif``: 1 KB.

Time is the other hazard. Chains are quadratic or worse (4,000 ``+`` take 6 s, 4,000 ``a[0]``
28 s) and ``case`` patterns exponential in their nesting (12 nested mapping patterns: 21 s).
So is memory: LibCST needs 85 to 1,500 times a file's size (6 MB of generated data: 155 s and
4.2 GB; 6 MB of ``x = 1`` lines: 9 GB).

CPython's ``ast`` is no guard: it accepts ``a and a and ...`` of any length (a flat ``BoolOp``)
and, on 3.10, ``1+1+...`` with 100,000 terms. So every file gets a string-aware scan
(:func:`_scan`, half of what ``ast.parse`` costs, a twentieth of LibCST's parse) that
bounds what LibCST will see, and LibCST runs on a thread with a stack of known size
(:func:`run_deep`). CPython's parser is asked only when LibCST failed, for its clearer messages.
"""

from __future__ import annotations

import ast
import bisect
import codecs
import re
import sys
import threading
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import ParamSpec, TypeVar

import libcst

from asynclint import unvalidated
from asynclint.counted import Counted

MAX_CHARS = 4 << 20
"""Larger files are refused (after the scan, whose findings say more): LibCST needs hundreds of
times their size in memory."""

MAX_BRACKETS = 200
"""CPython's own limit (``MAXLEVEL``): no runnable module nests deeper."""

MAX_BLOCKS = 100
"""CPython's and LibCST's limit of indentation (``MAXINDENT``), the first level included."""

MAX_PATTERN_COST = 1_000_000
"""The time budget of a file's ``case`` patterns, in units of about 2 microseconds of LibCST:
a token costs the product of the factors of the brackets around it (``_PATTERN_FACTOR``)."""

MAX_CHAIN = 3000
"""Depth budget of a path through one statement: an adjacent string or an ``elif`` costs 1,
anything else that nests (operator, keyword, bracket) 3. That is 1,000 chained operations, or
LibCST's own limit of 3,000 adjacent strings; about 3 MB of native stack at most."""

STACK_SIZE = 64 << 20
"""Ample: the worst input the limits let through (99 blocks, 1,000 ``elif``, 199 brackets,
1,390 strings) needs 4 to 5 MB."""

RECURSION_LIMIT = 20_000
"""Python frames to visit the deepest tree the limits let through (3 frames a level). Code
generation, and so LibCST's positions, still fail beyond about 700 levels on CPython 3.12,
whose C recursion limit is fixed."""

_THREAD_NAME = "asynclint-deep-stack"
_STACK_SIZE_LOCK = threading.Lock()

P = ParamSpec("P")
T = TypeVar("T")


@dataclass(frozen=True)
class SourceError:
    """Why a file cannot be checked, and where; it becomes an ``ASL900`` finding."""

    message: str
    line: int
    """1-based."""
    column: int
    """1-based, in code points of the decoded line (what an editor shows: no BOM)."""


@dataclass(frozen=True)
class Source:
    """A decoded file, with what it takes to write it back byte for byte."""

    text: str
    """Decoded, byte order mark removed, line endings untouched; no NUL if from :func:`decode`."""
    encoding: str = "utf-8"
    """The codec CPython reads the file with: the coding declaration's, else UTF-8."""
    bom: bool = False

    def encode(self, text: str | None = None) -> bytes:
        """`text` (by default the original) as file contents: same encoding, same BOM."""
        data = (self.text if text is None else text).encode(self.encoding)
        return codecs.BOM_UTF8 + data if self.bom else data


def read(path: str) -> Source | SourceError | str:
    """The file's source; a plain string (``"Is a directory"``) says why it could not be read
    at all, which is no finding about its contents."""
    try:
        with open(path, "rb") as file:
            data = file.read()
    except OSError as error:
        return error.strerror or str(error)
    return decode(data)


# PEP 263, applied to bytes like CPython's tokenizer does: line 2 counts only after a blank or
# comment-only line 1.
_CODING = re.compile(rb"[ \t\f]*#.*?coding[:=][ \t]*([-\w.]+)", re.ASCII)
_BLANK = re.compile(rb"[ \t\f]*(?:#|$)")
_LINE_BREAK_BYTES = re.compile(rb"\r\n|\r|\n")
_LATIN_1 = ("latin-1", "iso-8859-1", "iso-latin-1")


def decode(data: bytes) -> Source | SourceError:
    """Decode as CPython would; any problem is a :class:`SourceError` saying where."""
    bom = data.startswith(codecs.BOM_UTF8)
    body = data[len(codecs.BOM_UTF8) :] if bom else data
    encoding = "utf-8"
    declaration = _declaration(body)
    if declaration is not None:
        name, line, column = declaration
        encoding = _normal_encoding(name)
        problem = _encoding_problem(encoding, bom)
        if problem is not None:
            return SourceError(problem.format(name=name), line, column)
    try:
        text = body.decode(encoding)
    except UnicodeDecodeError as error:
        prefix = body[: error.start].decode(encoding, errors="replace")
        if "\0" in prefix:
            return _nul_error(prefix)
        message = f"cannot decode as {encoding}: {error.reason} 0x{body[error.start]:02x}"
        return SourceError(message, *_position(prefix, len(prefix)))
    if "\0" in text:
        return _nul_error(text)
    return Source(text, encoding, bom)


def _declaration(body: bytes) -> tuple[str, int, int] | None:
    """The encoding name in the coding declaration, with its line and column."""
    for number, line in enumerate(_LINE_BREAK_BYTES.split(body, maxsplit=2)[:2], start=1):
        match = _CODING.match(line)
        if match is not None:
            column = len(line[: match.start(1)].decode("utf-8", errors="replace")) + 1
            return match.group(1).decode("ascii"), number, column
        if not _BLANK.match(line):
            break
    return None


def _normal_encoding(name: str) -> str:
    """CPython's name for the two encodings it spells many ways (``utf-8-unix`` too)."""
    folded = name[:12].lower().replace("_", "-")
    if folded == "utf-8" or folded.startswith("utf-8-"):
        return "utf-8"
    if folded in _LATIN_1 or folded.startswith(tuple(f"{alias}-" for alias in _LATIN_1)):
        return "iso-8859-1"
    return name


def _encoding_problem(encoding: str, bom: bool) -> str | None:
    """Why a declared encoding cannot be used: a template for the declared ``name``."""
    try:
        info = codecs.lookup(encoding)
    except LookupError:
        return "unknown encoding {name!r} in the coding declaration"
    if not info._is_text_encoding:  # a bytes-to-bytes codec such as "hex"
        return "{name!r} in the coding declaration is not a text encoding"
    if bom and encoding != "utf-8":  # even "utf8", as CPython does
        return "the coding declaration {name!r} contradicts the UTF-8 byte order mark"
    return None


def _nul_error(text: str) -> SourceError:
    return SourceError("file contains a NUL byte", *_position(text, text.index("\0")))


_LINE_BREAK = re.compile(r"\r\n|\r|\n")


def _position(text: str, offset: int) -> tuple[int, int]:
    """1-based line and column of `offset`."""
    start = max(text.rfind("\n", 0, offset), text.rfind("\r", 0, offset)) + 1
    return line_breaks(text, 0, offset) + 1, offset - start + 1


def line_breaks(text: str, start: int, end: int) -> int:
    """How many lines end between `start` and `end`, lines broken where Python's tokenizer
    breaks them (not at form feeds or Unicode separators, as ``str.splitlines`` does);
    neither offset may split a ``\\r\\n``."""
    return (
        text.count("\n", start, end) + text.count("\r", start, end) - text.count("\r\n", start, end)
    )


def _offset(text: str, line: int, column: int) -> int:
    """The offset of a 1-based line and column: the inverse of :func:`_position`."""
    start = 0
    for _ in range(line - 1):
        match = _LINE_BREAK.search(text, start)
        if match is None:
            break
        start = match.end()
    return start + column - 1


def run_deep(function: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """Call `function` on a thread with a :data:`STACK_SIZE` stack and, meanwhile, a recursion
    limit of at least :data:`RECURSION_LIMIT`, so that neither parsing nor visiting a tree
    that :func:`parse` returned depends on the stack the caller happens to have (8 MB on a
    Linux main thread, 512 KB on a macOS worker thread). Exceptions propagate."""
    if threading.current_thread().name == _THREAD_NAME:
        return function(*args, **kwargs)
    results: list[T] = []
    failures: list[BaseException] = []

    def run() -> None:
        try:
            with _DEEP_RECURSION:
                results.append(function(*args, **kwargs))
        except BaseException as error:
            failures.append(error)

    thread = threading.Thread(target=run, name=_THREAD_NAME, daemon=True)
    if not _start_with_stack(thread):
        return function(*args, **kwargs)
    thread.join()
    if failures:
        raise failures[0]
    return results[0]


def _start_with_stack(thread: threading.Thread) -> bool:
    """Start `thread` with a :data:`STACK_SIZE` stack; False where there is no such stack (the
    caller's will have to do)."""
    with _STACK_SIZE_LOCK:
        previous = threading.stack_size()
        try:
            threading.stack_size(STACK_SIZE)
            thread.start()
        except (RuntimeError, ValueError):
            return False
        finally:
            threading.stack_size(previous)
    return True


class _RecursionLimit:
    """The recursion limit is the interpreter's, and a higher one only suits big stacks: it is
    raised while any deep call runs, and put back when the last one ends."""

    saved = 0

    @classmethod
    def raise_it(cls) -> None:
        cls.saved = sys.getrecursionlimit()
        sys.setrecursionlimit(max(cls.saved, RECURSION_LIMIT))

    @classmethod
    def restore(cls) -> None:
        sys.setrecursionlimit(cls.saved)


_DEEP_RECURSION = Counted(_RecursionLimit.raise_it, _RecursionLimit.restore)


def parse(source: Source) -> libcst.Module | SourceError:
    """The LibCST module, or why there is none; never crashes, whatever the input."""
    parsed = parse_scanned(source)
    return parsed if isinstance(parsed, SourceError) else parsed[0]


def parse_scanned(source: Source) -> tuple[libcst.Module, list[tuple[int, int]]] | SourceError:
    """:func:`parse`, with where the scan saw logical lines start (``_Scan.lines``)."""
    text = source.text
    scan = _scan(text)
    if scan.problem is not None:
        return SourceError(scan.problem.message, *_position(text, scan.problem.offset))
    if len(text) > MAX_CHARS:
        message = f"file too large for the parser ({len(text):,} characters; at most {MAX_CHARS:,})"
        return SourceError(message, 1, 1)
    try:
        return run_deep(unvalidated.parse_module, text), scan.lines
    except libcst.ParserSyntaxError as error:
        return _syntax_error(text, error, scan.lines)
    except RecursionError:  # in LibCST's Python half; not seen within the limits
        return SourceError("too deeply nested for the parser", 1, 1)


_LIBCST_PREFIX = re.compile(r"(?:parser|tokenizer) error: (?:error at \d+:\d+: )?")


def _syntax_error(
    text: str, error: libcst.ParserSyntaxError, lines: list[tuple[int, int]]
) -> SourceError:
    """LibCST's complaint, or CPython's if that is about the same statement: CPython says
    ``'(' was never closed`` where LibCST lists the tokens it expected. A complaint about an
    earlier statement, which LibCST accepted, is about syntax newer than the running CPython."""
    cpython = run_deep(_compile_error, text)
    if cpython is not None:
        line, column = cpython.lineno or 1, max(cpython.offset or 1, 1)
        failed = _offset(text, error.raw_line, error.raw_column + 1)
        tops = [offset for offset, width in lines if width == 0]
        statement = tops[bisect.bisect_right(tops, failed) - 1]
        tokenizer = error.message.startswith("tokenizer error")  # positioned at 1:1
        if tokenizer or _offset(text, line, column) >= statement:
            return _from_cpython(cpython, line, column)
    message = _LIBCST_PREFIX.sub("", error.message.splitlines()[0], count=1)
    return SourceError(f"syntax error: {message}", error.raw_line, error.raw_column + 1)


def _from_cpython(error: SyntaxError, line: int, column: int) -> SourceError:
    kind = "indentation error" if isinstance(error, IndentationError) else "syntax error"
    return SourceError(f"{kind}: {error.msg}", line, column)


def _compile_error(text: str) -> SyntaxError | None:
    """The running CPython's complaint about `text`, if it has one to say."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # SyntaxWarnings are not ours to print
        try:
            compile(text, "<source>", "exec", flags=ast.PyCF_ONLY_AST, dont_inherit=True)
        except SyntaxError as error:
            return error
        except (RecursionError, MemoryError, ValueError):  # too complex; NUL on 3.10, 3.11
            return None
    return None


# The scan: a tokenizer that sees only what can nest. Plain strings are skipped whole.
# F-strings (and 3.14 t-strings) are not: their replacement fields are code again, where PEP 701
# allows any quote. Blank and comment lines go with the line break before them and attribute
# runs (``.a.b``) are one token.
_QUOTES = ("'''", '"""', "'", '"')
_PREFIX_LETTERS = "bBrRuUfFtT"
_KEYWORD = r"(?:and|or|not|if|else|elif|for|lambda|await|case)\b"


def _plain_string(quote: str) -> str:
    """A whole plain string, escapes honoured; an unterminated one ends with its line (single
    quotes) or the file."""
    q = quote[0]
    if len(quote) == 3:
        return rf"{quote}(?:[^{q}\\]+|\\[\s\S]?|{q}(?!{q}{q}))*(?:{quote}|\Z)"
    return rf"{q}(?:[^{q}\\\r\n]+|\\(?:\r\n|[\s\S])?)*(?:{q}|(?=[\r\n])|\Z)"


# The frequent tokens first; where two could start at the same place, the one listed first wins
# (`empty` over `open`, `attribute` over `operator`, `plain` over `fstring`).
_TOKENS = (
    r"(?P<newline>(?:\r\n|\r|\n)(?:[ \t\f]*(?:#[^\r\n]*)?(?:\r\n|\r|\n))*[ \t\f]*)",
    r"(?P<empty>\(\)|\[\]|\{\})",
    r"(?P<open>[(\[{])",
    r"(?P<close>[)\]}])",
    r"(?P<separator>[,;])",
    r"(?P<attribute>(?:\.\w+)+)",
    r"(?P<operator>\*\*|//|<<|>>|:=|[-+*/%@&|^~.])",
    rf"(?P<plain>(?:(?<!\w)[bBrRuU]{{1,2}})?(?:{'|'.join(map(_plain_string, _QUOTES))}))",
    rf"(?P<fstring>(?<!\w)[{_PREFIX_LETTERS}]{{1,2}}(?:'''|\"\"\"|'|\"))",
    rf"(?P<keyword>\b{_KEYWORD})",
    r"(?P<comment>#[^\r\n]*)",
    r"(?P<join>\\(?:\r\n|\r|\n))",
    r"(?P<eof>\Z)",
)
_SKIP = (
    r"[^\w\r\n'\"#\\()\[\]{},;.*/%@&|^~<>:+\-]+",
    rf"(?!{_KEYWORD}|[{_PREFIX_LETTERS}]{{1,2}}['\"])\w+",
    r"<(?!<)|>(?!>)|\\(?![\r\n])",
)
"""What starts no token: other characters; ``<``, ``>``, ``\\`` (and, in code, ``:``) where no
token follows; words but keywords and string prefixes (a token never starts inside a word:
``\\b``, ``(?<!\\w)``). So the token after a skip is the one a search for tokens alone finds
first, in one step of the regex engine instead of a try of every token at each position."""


def _code(skip: tuple[str, ...], tokens: tuple[str, ...]) -> re.Pattern[str]:
    """Skip, then read a token. ``eof`` matches at the end of the text: no match at all would
    have ``search`` retry the skip from each position of the last line."""
    return re.compile(f"(?:{'|'.join(skip)})*(?:{'|'.join(tokens)})")


_CODE = _code((*_SKIP, r":(?!=)"), _TOKENS)
_FIELD_CODE = _code(_SKIP, (r"(?P<colon>:)", *_TOKENS))
"""In an f-string's replacement field, outside brackets, ``:`` starts the format spec (even
in ``{x:=10}``)."""


def _fstring_part(quote: str, raw: bool, spec: bool) -> re.Pattern[str]:
    """What matters in an f-string's literal text, or in a format spec (where ``}`` always
    ends the field). A backslash never escapes a brace, but ``\\N{...}`` is no field."""
    escape = r"\\(?:\r\n|[^{])" if raw else r"\\N\{[^}\r\n]*\}|\\(?:\r\n|[^{])"
    doubled = r"\{\{" if spec else r"\{\{|\}\}"
    end = quote if len(quote) == 3 else rf"{quote}|\r\n|\r|\n"
    return re.compile(rf"(?:{escape}|{doubled})|(?P<open>\{{)|(?P<close>\}})|(?P<end>{end})")


_FSTRINGS = {
    (q, raw): (_fstring_part(q, raw, spec=False), _fstring_part(q, raw, spec=True))
    for q in _QUOTES
    for raw in (False, True)
}
_CLAUSE = re.compile(r"(?:elif|else|except|finally)\b")
_PATTERN_FACTOR = {"{": 4, "(": 3, "[": 2}
"""How much each level of a ``case`` pattern multiplies LibCST's time (measured: mapping
patterns 4, class patterns up to 2.4, sequences 2)."""

_BRACKET, _FIELD, _FSTRING, _SPEC = range(4)
"""What a scan frame holds: code in a bracket or in an f-string's replacement field; literal
text of an f-string or of a field's format spec."""


@dataclass(slots=True)
class _Frame:
    kind: int
    start: int
    chain: int
    """The chain cost once the frame opened: what a comma in it, or its end, goes back to."""
    scanner: re.Pattern[str] = _CODE
    """How to read on while this frame is innermost."""
    spec: re.Pattern[str] | None = None
    """In an f-string: how to read a format spec."""
    weight: int = 1
    """In a ``case`` pattern: what each token inside costs LibCST (see MAX_PATTERN_COST)."""


@dataclass(frozen=True)
class _Problem:
    message: str
    offset: int


@dataclass(frozen=True)
class _Scan:
    problem: _Problem | None
    lines: list[tuple[int, int]]
    """Where each logical line of code starts (its first token, outside brackets and
    strings) with its indentation's width, but for clauses (``else:``, ``except:``...);
    the start of the file first, whatever is there."""


def _scan(text: str) -> _Scan:
    """Find what would make LibCST crash or crawl (see the limits above).

    The chain cost counts from the start of the statement, or of the current element of the
    enclosing bracket, and over-estimates: every operator on the way counts, not only those
    that nest. A bracket left open makes the rest of the file one long expression, so when it
    opened before the problem, it is the problem."""
    stack: list[_Frame] = []
    top: _Frame | None = None  # stack[-1]
    scanner = _CODE  # top's
    indents = [0]
    lines = [(0, 0)]
    problem: _Problem | None = None
    chain = depth = elifs = patterns = position = line_start = 0
    pattern = False
    while problem is None or stack:  # after a problem, only to see if a bracket stays open
        match = scanner.search(text, position)
        if match is None:  # in an f-string's text
            break
        position = match.end()
        kind = match.lastgroup
        cost = 0
        found = ""
        if kind == "newline":
            if top is None:
                chain, pattern, line_start = elifs, False, position
                following = text[position : position + 1]
                if following and following != "#":  # the next line has code
                    indent = _indentation(match[kind])
                    width = len(indent.rsplit("\f", 1)[-1].expandtabs(8))
                    while width < indents[-1]:
                        indents.pop()
                    if width > indents[-1]:
                        indents.append(width)
                    if len(indents) > MAX_BLOCKS:
                        message = f"more than {MAX_BLOCKS - 1} levels of indentation"
                        problem = _too_deep(message, position - len(indent))
                    elif following not in "ef" or _CLAUSE.match(text, position) is None:
                        lines.append((position, width))
                        if width == 0:
                            chain = elifs = 0
        elif kind == "attribute":
            cost = 3 * match[kind].count(".")
        elif kind == "operator" or kind == "empty":
            cost = 3
        elif kind == "open":
            cost, depth = 3, depth + 1
            if top is not None and top.kind >= _FSTRING:  # an f-string's field
                top = _Frame(_FIELD, position - 1, chain + cost, _FIELD_CODE, top.spec)
            else:
                weight = top.weight if top is not None else 1
                if pattern:
                    weight *= _PATTERN_FACTOR[text[position - 1]]
                top = _Frame(_BRACKET, position - 1, chain + cost, weight=weight)
            stack.append(top)
            scanner = top.scanner
            if depth > MAX_BRACKETS:
                found = f"more than {MAX_BRACKETS} levels of brackets"
        elif kind == "close" or kind == "end":
            if top is None:
                pass  # unmatched: LibCST's tokenizer rejects it, before any parsing
            else:
                if top.kind == _BRACKET:  # any closer: LibCST's tokenizer rejects mismatches
                    stack.pop()
                    chain, depth = top.chain, depth - 1
                elif top.kind != _FSTRING and text[position - 1] == "}":  # the end of a field
                    stack.pop()
                    chain, depth = stack[-1].chain, depth - 1  # an f-string's parts are flat
                elif kind == "end":  # of an f-string, perhaps in a format spec
                    if top.kind == _SPEC:
                        stack.pop()
                        depth -= 1
                    chain = stack.pop().chain
                top = stack[-1] if stack else None
                scanner = top.scanner if top is not None else _CODE
        elif kind == "separator":
            chain = top.chain if top is not None else elifs
        elif kind == "plain":
            cost = 1
        elif kind == "keyword":
            word = match[kind]
            if word == "case":
                pattern = top is None and not text[line_start : position - 4].strip()
            elif word == "elif" and top is None:  # one level deeper than the previous one
                elifs += 1
                chain, cost = elifs - 1, 1
            else:
                cost = 3
                pattern = pattern and not (word == "if" and top is None)  # a guard
        elif kind == "fstring":
            cost = 1
            token = match[kind]
            quote = token.lstrip(_PREFIX_LETTERS)
            prefix = token[: len(token) - len(quote)].lower()
            text_scanner, spec_scanner = _FSTRINGS[quote, "r" in prefix]
            where = position - len(token)
            top = _Frame(_FSTRING, where, chain + cost, text_scanner, spec_scanner)
            stack.append(top)
            scanner = text_scanner
        elif kind == "colon" and top is not None and top.spec is not None:  # in a field
            top.kind, top.scanner = _SPEC, top.spec
            scanner = top.spec
        elif kind == "eof":
            break
        chain += cost
        if chain > MAX_CHAIN:
            found = (
                f"more than {MAX_CHAIN // 3:,} chained operations, "
                f"or {MAX_CHAIN:,} adjacent strings or elif branches"
            )
        if pattern:
            patterns += top.weight if top is not None else 1
            if patterns > MAX_PATTERN_COST:
                found = "case patterns nested too deeply, or too many of them"
        if found and problem is None:
            problem = _too_deep(found, match.start(match.lastindex or 0))
    if problem is not None and stack:  # open since before the problem
        problem = _unclosed(text, stack[0])
    return _Scan(problem, lines)


def _too_deep(found: str, offset: int) -> _Problem:
    return _Problem(f"too deeply nested for the parser ({found})", offset)


def _indentation(newline: str) -> str:
    """The indentation at the end of a line-break token (after its blank lines)."""
    return newline[max(newline.rfind("\n"), newline.rfind("\r")) + 1 :]


def _unclosed(text: str, frame: _Frame) -> _Problem:
    if frame.kind == _FSTRING:
        return _Problem("syntax error: unterminated f-string", frame.start)
    return _Problem(f"syntax error: '{text[frame.start]}' was never closed", frame.start)
