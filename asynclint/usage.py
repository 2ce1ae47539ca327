"""Which names a function reads, computed on demand.

Rules such as "a task assigned to a local that is never used" need to know whether a name
is read anywhere in a function. Walking the body costs a pass over it, so the answer is
computed only when a rule asks, once per function.
"""

from __future__ import annotations

import libcst as cst

from asynclint import walk
from asynclint.scope import _target_names

_INTROSPECTION = frozenset(["locals", "vars", "eval", "exec"])


class _Loads(cst.CSTVisitor):
    """Collects the names read in a subtree; names in store or non-expression positions
    (assignment targets, attribute names, keyword names, parameters) are left out."""

    def __init__(self) -> None:
        self.loads: set[str] = set()
        self._not_loads: set[int] = set()

    def _skip(self, *names: cst.CSTNode | None) -> None:
        self._not_loads.update(id(name) for name in names if name is not None)

    def visit_Name(self, node: cst.Name) -> None:
        if id(node) not in self._not_loads:
            self.loads.add(node.value)

    def visit_AssignTarget(self, node: cst.AssignTarget) -> None:
        self._skip(*_target_names(node.target))

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        self._skip(*_target_names(node.target))

    def visit_For(self, node: cst.For) -> None:
        self._skip(*_target_names(node.target))

    def visit_CompFor(self, node: cst.CompFor) -> None:
        self._skip(*_target_names(node.target))

    def visit_AsName(self, node: cst.AsName) -> None:
        self._skip(*_target_names(node.name))

    def visit_NamedExpr(self, node: cst.NamedExpr) -> None:
        self._skip(node.target)

    def visit_Del(self, node: cst.Del) -> None:
        self._skip(*_target_names(node.target))

    def visit_Attribute(self, node: cst.Attribute) -> None:
        self._skip(node.attr)

    def visit_Arg(self, node: cst.Arg) -> None:
        self._skip(node.keyword)

    def visit_Param(self, node: cst.Param) -> None:
        self._skip(node.name)

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self._skip(node.name)

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        self._skip(node.name)

    def visit_ImportAlias(self, node: cst.ImportAlias) -> bool:
        return False


def loaded_names(node: cst.FunctionDef | cst.Lambda) -> frozenset[str]:
    """Every name read in the body of `node`, nested functions included."""
    visitor = _Loads()
    walk.visit(node.body, visitor)
    return frozenset(visitor.loads)


def reads_any_local(names: frozenset[str]) -> bool:
    """True when the body calls something (``locals()``, ``eval``) that can read any local."""
    return not names.isdisjoint(_INTROSPECTION)
