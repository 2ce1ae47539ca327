"""``python -m asynclint.sanitizer [--mode MODE] (SCRIPT | -m MODULE) [ARGS...]``."""

from __future__ import annotations

import importlib.util
import os
import sys

from asynclint.sanitizer.config import ConfigError, parse_mode, requested_mode

USAGE = (
    "usage: python -m asynclint.sanitizer [--mode strict|warn|report] (SCRIPT | -m MODULE)"
    " [ARGS...]"
)


def main(argv: list[str]) -> int:
    mode_text: object = True
    source = "--mode"
    if argv[:1] == ["--mode"] and len(argv) > 1:
        mode_text, argv = argv[1], argv[2:]
    elif argv and argv[0].startswith("--mode="):
        mode_text, argv = argv[0].partition("=")[2], argv[1:]
    else:
        requested = requested_mode()
        if requested is not None:
            mode_text, source = requested[0] or "off", requested[1]
    module = argv[:1] == ["-m"]
    target = argv[1:] if module else argv
    if not target or target[0].startswith("-"):
        print(USAGE, file=sys.stderr)
        return 2
    try:
        mode = parse_mode(mode_text, source)
    except ConfigError as error:
        print(f"asyncsan: {error}", file=sys.stderr)
        return 2
    if mode is None:
        print(f"asyncsan: the sanitizer is off ({source}); nothing to run", file=sys.stderr)
        return 2
    missing = (
        importlib.util.find_spec(target[0]) is None if module else not os.path.isfile(target[0])
    )
    if missing:
        kind = "module" if module else "file"
        print(f"asyncsan: cannot run {target[0]!r}: no such {kind}", file=sys.stderr)
        return 2
    from asynclint.sanitizer.runner import run_script

    try:
        return run_script(target, mode, module)
    except ConfigError as error:
        print(f"asyncsan: {error}", file=sys.stderr)
        return 2


sys.exit(main(sys.argv[1:]))
