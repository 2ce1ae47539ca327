"""Running a command or a script under the sanitizer.

`run_command` is what ``asynclint run -- CMD`` calls: it relies on the environment
export (``ASYNCSAN``), which the installed start-up hook reads in every Python process
the command starts. `run_script` backs ``python -m asynclint.sanitizer``, which works
even where ``.pth`` files are not processed (``python -S``, embedded interpreters).
"""

from __future__ import annotations

import gc
import os
import runpy
import subprocess
import sys

from asynclint.sanitizer.config import ENV_MODE, Mode, parse_mode
from asynclint.sanitizer.core import activate, active


def run_command(argv: list[str], mode: str = "strict") -> int:
    """Run `argv` with the sanitizer on in every Python process it starts; its exit status.

    Raises `ConfigError` for a bad mode. A command that cannot be started gets a one-line
    message and status 127, like a shell.
    """
    checked = parse_mode(mode, "asynclint run --mode")
    env = dict(os.environ)
    env[ENV_MODE] = checked or "off"
    if not argv:
        print("asyncsan: no command given", file=sys.stderr)
        return 2
    try:
        return subprocess.run(argv, env=env, check=False).returncode
    except OSError as error:
        print(f"asyncsan: cannot run {argv[0]!r}: {error.strerror}", file=sys.stderr)
        return 127


def run_script(target: list[str], mode: Mode, module: bool) -> int:
    """Run a script (or ``-m`` module) as ``__main__`` under the sanitizer."""
    san = active() or activate(mode)
    sys.argv = list(target)
    code = 0
    try:
        if module:
            runpy.run_module(target[0], run_name="__main__", alter_sys=True)
        else:
            path = os.path.abspath(target[0])
            sys.path.insert(0, os.path.dirname(path))
            runpy.run_path(path, run_name="__main__")
    except SystemExit as exit:
        code = exit.code if isinstance(exit.code, int) else (0 if exit.code is None else 1)
        if exit.code is not None and not isinstance(exit.code, int):
            print(exit.code, file=sys.stderr)
    gc.collect()
    if san.unhandled:
        count = len(san.unhandled)
        san.unhandled.clear()
        print(f"asyncsan: {count} finding{'s' * (count != 1)} in strict mode", file=sys.stderr)
        code = code or 1
    return code
