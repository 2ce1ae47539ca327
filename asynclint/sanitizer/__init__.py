"""asyncsan: the runtime sanitizer for asyncio programs and test suites.

Importing this package is cheap and imports no ``asyncio``: the hooks that need it are
installed when the program imports ``asyncio`` itself.
"""

from asynclint.sanitizer.config import ConfigError, Mode, Options
from asynclint.sanitizer.core import (
    AsyncSanError,
    AsyncSanWarning,
    DeadlockError,
    Sanitizer,
    activate,
    active,
    deactivate,
    sanitize,
)
from asynclint.sanitizer.findings import CHECKS, Finding, Frame
from asynclint.sanitizer.runner import run_command

__all__ = [
    "CHECKS",
    "AsyncSanError",
    "AsyncSanWarning",
    "ConfigError",
    "DeadlockError",
    "Finding",
    "Frame",
    "Mode",
    "Options",
    "Sanitizer",
    "activate",
    "active",
    "deactivate",
    "run_command",
    "sanitize",
]
