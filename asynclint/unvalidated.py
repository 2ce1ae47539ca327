"""LibCST's parse, without validating every node it builds.

LibCST checks each node as it is constructed (``CSTNode.__post_init__`` calls
``_validate``): a seventh of the parse on real code, and pointless for the nodes its own
parser builds from source it accepted, as LibCST's comment at that call says. The trees are
the same (``tests/test_unvalidated.py`` compares them). Validation is off only while a parse
runs (for every thread: a node another thread builds meanwhile is not checked either);
nodes built at any other time, by rules and fixes, are checked as usual.
"""

from __future__ import annotations

import libcst
from libcst import CSTNode

from asynclint import constructors
from asynclint.counted import Counted

_VALIDATE = CSTNode.__dict__.get("__post_init__")
"""LibCST's hook; None in a LibCST without it (then nothing is switched)."""


def _skip(self: CSTNode) -> None:
    """Stands in for ``CSTNode.__post_init__`` while a parse runs."""


def _switch(hook: object) -> None:
    if _VALIDATE is not None:
        setattr(CSTNode, "__post_init__", hook)  # noqa: B010  # a method mypy will not let us assign


_OFF = Counted(lambda: _switch(_skip), lambda: _switch(_VALIDATE))


def parse_module(text: str) -> libcst.Module:
    """``libcst.parse_module(text)``, its nodes not validated (and built by the faster
    constructors of :mod:`asynclint.constructors`, installed on the first parse)."""
    constructors.install()
    with _OFF:
        return libcst.parse_module(text)
