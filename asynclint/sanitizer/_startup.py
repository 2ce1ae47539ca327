"""Imported by the ``asyncsan.pth`` start-up hook when ``-X asyncsan`` or ``ASYNCSAN`` is set.

A bad value stops the interpreter with a one-line message and status 2: silently running
unsanitized when sanitizing was asked for would hide the very bugs the user is after.
(``SystemExit`` cannot be used: it would escape ``site`` and abort start-up noisily.)
"""

import os
import sys

from asynclint.sanitizer.config import ConfigError, requested_mode
from asynclint.sanitizer.core import activate, active


def _start() -> None:
    try:
        requested = requested_mode()
        if requested is not None and requested[0] is not None and active() is None:
            activate(requested[0])
    except ConfigError as error:
        print(f"asyncsan: {error}", file=sys.stderr, flush=True)
        os._exit(2)


_start()
