"""asynclint.source: any file becomes a LibCST module or one clear SourceError, and no input
takes the process down."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import warnings
from pathlib import Path

import libcst
import pytest
from libcst.metadata import MetadataWrapper, PositionProvider

from asynclint import source
from asynclint.source import Source, SourceError, decode, parse, read, run_deep

TOO_LONG = (
    "too deeply nested for the parser "
    "(more than 1,000 chained operations, or 3,000 adjacent strings or elif branches)"
)
TOO_DEEP = "too deeply nested for the parser (more than 200 levels of brackets)"
TOO_MANY_BLOCKS = "too deeply nested for the parser (more than 99 levels of indentation)"
TOO_COMPLEX_PATTERNS = (
    "too deeply nested for the parser (case patterns nested too deeply, or too many of them)"
)
NEVER_CLOSED = "syntax error: '(' was never closed"


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"x = '\xc3\xa9'\n", Source("x = '\xe9'\n")),
        (
            b"# -*- coding: latin-1 -*-\nx = '\xe9'\n",
            Source("# -*- coding: latin-1 -*-\nx = '\xe9'\n", "iso-8859-1"),
        ),
        (
            b"#!/usr/bin/env python\n# vim: set fileencoding=cp1252 :\nx = '\x80'\n",
            Source(
                "#!/usr/bin/env python\n# vim: set fileencoding=cp1252 :\nx = '\u20ac'\n", "cp1252"
            ),
        ),
        (b"# -*- coding: utf-8-unix -*-\n", Source("# -*- coding: utf-8-unix -*-\n")),
        (b"\xef\xbb\xbfx = 1\r\n", Source("x = 1\r\n", bom=True)),
        (b"\xef\xbb\xbf# coding: utf-8\n", Source("# coding: utf-8\n", bom=True)),
        (
            b"x = 1\n# coding: latin-1\ny = '\xe9'\n",
            SourceError("cannot decode as utf-8: invalid continuation byte 0xe9", 3, 6),
        ),
        (
            b"\xef\xbb\xbf# coding: latin-1\n",
            SourceError(
                "the coding declaration 'latin-1' contradicts the UTF-8 byte order mark", 1, 11
            ),
        ),
        (
            b"\xef\xbb\xbf# coding: utf8\n",
            SourceError(
                "the coding declaration 'utf8' contradicts the UTF-8 byte order mark", 1, 11
            ),
        ),
        (
            b"# coding: klingon\nx = 1\n",
            SourceError("unknown encoding 'klingon' in the coding declaration", 1, 11),
        ),
        (
            b"# coding: hex\n",
            SourceError("'hex' in the coding declaration is not a text encoding", 1, 11),
        ),
        (b"x = '\xff'\n", SourceError("cannot decode as utf-8: invalid start byte 0xff", 1, 6)),
        (
            b"s = 1\n\xc3\xa9\xc3\xa9 = '\xc3\xa9\xe9'\n",
            SourceError("cannot decode as utf-8: invalid continuation byte 0xe9", 2, 8),
        ),
        (
            b"a = 1\rb = '\xff'\r",
            SourceError("cannot decode as utf-8: invalid start byte 0xff", 2, 6),
        ),
        (
            b"# coding: cp1252\nx = '\x81'\n",
            SourceError("cannot decode as cp1252: character maps to <undefined> 0x81", 2, 6),
        ),
        (b"x = 1\x00\n", SourceError("file contains a NUL byte", 1, 6)),
        (b"a = 1\nb\x00\xff\n", SourceError("file contains a NUL byte", 2, 2)),
        (b"\xff\x00", SourceError("cannot decode as utf-8: invalid start byte 0xff", 1, 1)),
    ],
    ids=[
        "utf-8",
        "latin-1 cookie",
        "cp1252 vim cookie on line 2",
        "emacs spelling",
        "bom",
        "bom and utf-8 cookie",
        "cookie after code is no cookie",
        "bom and latin-1 cookie",
        "bom and utf8 cookie, as CPython",
        "unknown encoding",
        "not a text encoding",
        "invalid utf-8",
        "column in code points",
        "CR line endings",
        "undefined in cp1252",
        "nul",
        "nul before an undecodable byte",
        "undecodable byte before a nul",
    ],
)
def test_decode(data: bytes, expected: Source | SourceError) -> None:
    assert decode(data) == expected


@pytest.mark.parametrize(
    "data",
    [b"\xef\xbb\xbfx = 1\r\n", b"# coding: latin-1\r\nx = '\xe9'\r\n", b"x = '\xc3\xa9'\ry = 2"],
)
def test_encode_gives_back_the_bytes_decoded(data: bytes) -> None:
    decoded = decode(data)
    assert isinstance(decoded, Source)
    assert decoded.encode() == data


def test_encode_writes_new_text_like_the_original() -> None:
    original = Source("x = 1\n", "iso-8859-1", bom=False)
    assert original.encode("x = '\xe9'\n") == b"x = '\xe9'\n"
    assert Source("", bom=True).encode("\xe9") == b"\xef\xbb\xbf\xc3\xa9"


def test_read(tmp_path: Path) -> None:
    (tmp_path / "m.py").write_bytes(b"\xef\xbb\xbfx = 1\n")
    assert read(str(tmp_path / "m.py")) == Source("x = 1\n", bom=True)
    (tmp_path / "bad.py").write_bytes(b"x = 1\x00\n")
    assert read(str(tmp_path / "bad.py")) == SourceError("file contains a NUL byte", 1, 6)


def test_an_unreadable_path_is_a_plain_message(tmp_path: Path) -> None:
    assert read(str(tmp_path)) == "Is a directory"
    assert read(str(tmp_path / "missing.py")) == "No such file or directory"


def test_parse_keeps_line_endings() -> None:
    module = parse(Source("x = 1\r\ny = [\r\n    2,\r\n]\r\n"))
    assert isinstance(module, libcst.Module)
    assert module.code == "x = 1\r\ny = [\r\n    2,\r\n]\r\n"


def test_positions_are_what_an_editor_shows_with_a_bom_and_crlf() -> None:
    decoded = decode(b"\xef\xbb\xbfy = f(1)\r\nz = g(2)\r\n")
    assert isinstance(decoded, Source)
    module = parse(decoded)
    assert isinstance(module, libcst.Module)
    wrapper = MetadataWrapper(module)
    positions = wrapper.resolve(PositionProvider)
    calls = [node for node in positions if isinstance(node, libcst.Call)]
    found = [(positions[c].start.line, positions[c].start.column) for c in calls]
    assert sorted(found) == [(1, 4), (2, 4)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("x = (\n", SourceError(NEVER_CLOSED, 1, 5)),
        ("x = 1\r\ny = (1,\r\n", SourceError(NEVER_CLOSED, 2, 5)),
        ("\xe9 = 1; \xfc = (1,\n", SourceError(NEVER_CLOSED, 1, 12)),
        ("def f(:\n    pass\n", SourceError("syntax error: invalid syntax", 1, 7)),
        ("x = 1\ny = $\n", SourceError("syntax error: invalid syntax", 2, 5)),
        ("\tif x:\n", SourceError("indentation error: unexpected indent", 1, 1)),
        ("x = (\n" + "y = a + b.c(d)\n" * 2000, SourceError(NEVER_CLOSED, 1, 5)),
    ],
    ids=["unclosed", "crlf", "code points", "invalid", "tokenizer", "indent", "long unclosed"],
)
def test_syntax_errors_say_what_cpython_says(text: str, expected: SourceError) -> None:
    assert parse(Source(text)) == expected


def test_a_bom_does_not_shift_columns() -> None:
    decoded = decode(b"\xef\xbb\xbfx = (1,\r\n")
    assert isinstance(decoded, Source)
    assert parse(decoded) == SourceError(NEVER_CLOSED, 1, 5)


@pytest.mark.parametrize(
    "text",
    [
        "type X = int\n",
        "def f[T](x: T) -> T:\n    return x\n",
        "class A[T: int = str]:\n    pass\n",
        "try:\n    pass\nexcept* ValueError:\n    pass\n",
        'x = f"{x["a"]}"\n',
        "x = t'{a}'\n",
    ],
    ids=["3.12 type", "3.12 generics", "3.13 defaults", "3.11 except*", "3.12 f-string", "3.14"],
)
def test_syntax_newer_than_the_interpreter_parses(text: str) -> None:
    module = parse(Source(text))
    assert isinstance(module, libcst.Module)
    assert module.code == text


def test_an_error_after_newer_syntax_is_not_blamed_on_the_newer_syntax() -> None:
    found = parse(Source("type X = int\nx = (1,\n"))
    if sys.version_info >= (3, 12):
        assert found == SourceError(NEVER_CLOSED, 2, 5)
    else:  # CPython stops at `type`, so LibCST has the say
        expected = "), *, +, -, ..., AWAIT, False, NAME, NUMBER, None, True, lambda, not, ~"
        assert found == SourceError(f"syntax error: expected one of {expected}", 2, 1)


def test_cpython_complaining_about_an_earlier_statement_is_overruled(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    older = SyntaxError("invalid syntax", ("<source>", 1, 6, "type X = int\n", 1, 7))
    monkeypatch.setattr(source, "_compile_error", lambda text: older)
    assert parse(Source("type X = int\nimport\n")) == SourceError(
        "syntax error: expected NAME", 2, 1
    )
    assert parse(Source("import\n")) == SourceError("syntax error: invalid syntax", 1, 6)


def test_cpython_warnings_neither_print_nor_become_errors(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        found = parse(Source("x = '\\d'\ny = (\n"))
    assert found == SourceError(NEVER_CLOSED, 2, 5)
    assert capsys.readouterr() == ("", "")


def test_a_nul_in_a_hand_made_source_is_a_finding() -> None:
    try:
        compile("\0", "<nul>", "exec")
    except SyntaxError:  # 3.12, and late 3.11 releases
        message = "source code string cannot contain null bytes"
    except ValueError:  # CPython has no message: LibCST's
        message = "'\\0' is not a valid character in this position"
    assert parse(Source("x = 1\0\n")) == SourceError(f"syntax error: {message}", 1, 1)


def test_a_parser_recursion_error_is_a_finding(monkeypatch: pytest.MonkeyPatch) -> None:
    def overflow(text: str) -> libcst.Module:
        raise RecursionError("maximum recursion depth exceeded")

    monkeypatch.setattr(libcst, "parse_module", overflow)
    assert parse(Source("x = 1\n")) == SourceError("too deeply nested for the parser", 1, 1)


def test_a_huge_file_is_refused() -> None:
    text = "x = '" + "a" * source.MAX_CHARS + "'\n"
    message = f"file too large for the parser ({len(text):,} characters; at most 4,194,304)"
    assert parse(Source(text)) == SourceError(message, 1, 1)


@pytest.mark.parametrize(
    "text",
    [
        'x = f"' + "(" * 300 + '"\n',
        "x = '" + "(" * 300 + "'\n",
        "# " + "(" * 300 + "\nx = 1\n",
        'x = f"{{' + "(" * 300 + '}}"\n',
        'x = f"{x!r:>{width}}" + f"{y:=^10}" + rf"\\{z}"\n',
    ],
    ids=["f-string text", "string", "comment", "doubled braces", "conversion and spec"],
)
def test_brackets_in_strings_and_comments_do_not_count(text: str) -> None:
    module = parse(Source(text))
    assert isinstance(module, libcst.Module)
    assert module.code == text


@pytest.mark.parametrize(
    ("text", "column"),
    [
        ('x = f"{' + "(" * 201 + "1" + ")" * 201 + '}"\n', 207),
        ('x = f"{x:{' + "(" * 201 + ")" * 201 + '}}"\n', 209),
        ('x = f"{f"{' + "(" * 201 + ")" * 201 + '}"}"\n', 209),
    ],
    ids=["field", "field in a format spec", "f-string in a field"],
)
def test_brackets_in_f_string_fields_count(text: str, column: int) -> None:
    assert parse(Source(text)) == SourceError(TOO_DEEP, 1, column)


UNTERMINATED_F_STRING = "syntax error: unterminated f-string"
# Each of these finds its problem only if no token (here `<<`, `:=`, `if`, a line joined by a
# backslash, an f-string) hides in what the scan's regex skips in one step.
SKIPPED = {
    "comparisons": ("x = a < b > c <= d" + " << a >> b" * 501 + "\n", (TOO_LONG, 1, 5020)),
    "colons": ("x = a:b" + " := a" * 1001 + "\n", (TOO_LONG, 1, 5009)),
    "near keywords": ("x = iffy" + " if elsewhere else a" * 501 + "\n", (TOO_LONG, 1, 10010)),
    "backslashes": (
        "x = a \\ b" + " + a" * 600 + " \\\n" + " + a" * 401 + "\n",
        (TOO_LONG, 2, 1602),
    ),
    "prefixes": ("x = xf'{' + rb'{' + " + "f'{" * 201 + "\n", (UNTERMINATED_F_STRING, 1, 21)),
    "fields": ("x = f'{a:>{b}} {c!r}' + f'{d:=^{e}}'" + " + a" * 1001 + "\n", (TOO_LONG, 1, 4030)),
    "end of file": ("if x:\n    y = z" + " + a" * 1001, (TOO_LONG, 2, 4011)),
}


@pytest.mark.parametrize("name", SKIPPED)
def test_the_scan_skips_only_what_starts_no_token(name: str) -> None:
    text, (message, line, column) = SKIPPED[name]
    assert parse(Source(text)) == SourceError(message, line, column)


def test_realistic_case_patterns_parse() -> None:
    pattern = '{"a": {"b": [1, {"c": C(d=[x, *rest])}]}} | None'
    module = parse(Source(f"match m:\n    case {pattern}:\n        pass\n"))
    assert isinstance(module, libcst.Module)


def test_3000_adjacent_strings_parse() -> None:
    # LibCST's own limit; one more is refused below.
    assert isinstance(parse(Source("x = " + " ".join(["'a'"] * 3000) + "\n")), libcst.Module)


BLOCKS_5000 = "".join(" " * i + "if x:\n" for i in range(5000)) + " " * 5000 + "pass\n"
BLOCKS_60 = "".join(" " * i + "if x:\n" for i in range(60)) + " " * 60 + "pass\n"
# Each of these would crash or stall LibCST if it got it: run them in a child process, so that a
# regression fails these tests instead of killing the test session.
DEEP = {
    "3,000 nested parentheses": (
        "x = " + "(" * 3000 + "1" + ")" * 3000 + "\n",
        [TOO_DEEP, 1, 205],
    ),
    "5,000 nested ifs": (BLOCKS_5000, [TOO_MANY_BLOCKS, 101, 1]),
    "100,000 terms": ("x = " + "+".join(["1"] * 100_000) + "\n", [TOO_LONG, 1, 2006]),
    "10,000 and": ("x = " + " and ".join(["a"] * 10_000) + "\n", [TOO_LONG, 1, 6007]),
    "10,000 not": ("x = " + "not " * 10_000 + "x\n", [TOO_LONG, 1, 4005]),
    "10,000 minus": ("x = " + "- " * 10_000 + "x\n", [TOO_LONG, 1, 2005]),
    "10,000 lambda": ("x = " + "lambda: " * 10_000 + "x\n", [TOO_LONG, 1, 8005]),
    "10,000 await": (
        "async def f():\n    x = " + "await " * 10_000 + "x\n",
        [TOO_LONG, 2, 6009],
    ),
    "10,000 subscripts": ("x = a" + "[0]" * 10_000 + "\n", [TOO_LONG, 1, 3006]),
    "3,001 adjacent strings": ("x = " + " ".join(["'a'"] * 3001) + "\n", [TOO_LONG, 1, 12005]),
    "3,001 elif": ("if a:\n pass\n" + "elif a:\n pass\n" * 3001, [TOO_LONG, 6003, 1]),
    "12 nested mapping patterns": (
        "match x:\n    case " + '{"k": ' * 12 + "1" + "}" * 12 + ":\n        pass\n",
        [TOO_COMPLEX_PATTERNS, 2, 64],
    ),
    "60 blocks from a thread with a 1 MB stack": (BLOCKS_60, "module"),
}
CHILD = """
import json, sys, threading
from asynclint.source import Source, SourceError, parse

def describe(text):
    found = parse(Source(text))
    return [found.message, found.line, found.column] if isinstance(found, SourceError) else "module"

results = {}
for name, text in json.load(sys.stdin).items():
    if "thread" in name:  # LibCST needs 1.5 MB there: this proves parse brings its own stack
        threading.stack_size(1 << 20)
        thread = threading.Thread(target=lambda: results.__setitem__(name, describe(text)))
        thread.start()
        thread.join()
    else:
        results[name] = describe(text)
print(json.dumps(results))
"""


@pytest.fixture(scope="module")
def deep_results() -> dict[str, object]:
    root = Path(source.__file__).resolve().parent.parent
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(root), os.environ.get("PYTHONPATH", "")]),
    }
    done = subprocess.run(
        [sys.executable, "-c", CHILD],
        input=json.dumps({name: text for name, (text, _) in DEEP.items()}),
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert (done.returncode, done.stderr) == (0, "")
    results: dict[str, object] = json.loads(done.stdout)
    return results


@pytest.mark.parametrize("name", DEEP)
def test_input_that_would_crash_libcst_is_a_finding(
    deep_results: dict[str, object], name: str
) -> None:
    assert deep_results[name] == DEEP[name][1]


def test_run_deep_returns_and_raises() -> None:
    assert run_deep(divmod, 7, 2) == (3, 1)
    with pytest.raises(ZeroDivisionError):
        run_deep(divmod, 1, 0)


def test_run_deep_has_room_for_deep_trees() -> None:
    caller = threading.current_thread()
    before = sys.getrecursionlimit()
    worker, inner, limit = run_deep(
        lambda: (
            threading.current_thread(),
            run_deep(threading.current_thread),
            sys.getrecursionlimit(),
        )
    )
    assert worker is not caller
    assert inner is worker  # no second thread for a nested call
    assert limit >= source.RECURSION_LIMIT
    assert sys.getrecursionlimit() == before  # the limit is the whole interpreter's


def test_run_deep_makes_do_without_a_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(self: threading.Thread) -> None:
        raise RuntimeError("can't start new thread")

    before = threading.stack_size()
    monkeypatch.setattr(threading.Thread, "start", refuse)
    assert run_deep(threading.current_thread) is threading.current_thread()
    assert threading.stack_size() == before


def test_the_scan_lists_each_logical_line_with_its_indentation() -> None:
    """Positions place statements by these: the file's start, then every line of code
    outside brackets and strings, but clauses, with its width (tabs to multiples of 8)."""
    text = "# head\n\nif a:\n    b = 1  # c\nelse:\n    c = (\n1)\n"
    text += '    s = """\nx = 1\n"""\n\t\td = 2\n'
    found = [(text[offset : offset + 5], width) for offset, width in source._scan(text).lines]
    assert found == [
        ("# hea", 0),
        ("if a:", 0),
        ("b = 1", 4),
        ("c = (", 4),
        ('s = "', 4),
        ("d = 2", 16),
    ]
