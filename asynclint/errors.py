"""The one kind of error the command reports as a plain line with exit status 2."""

from __future__ import annotations


class UsageError(Exception):
    """A mistake the user can fix (configuration, rule selector, interpreter, cache folder);
    its text is one line, fit to print after ``asynclint: error:``."""
