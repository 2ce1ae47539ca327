"""Reversible monkey-patching, and patching modules only once something imports them.

The sanitizer can be switched on at interpreter start-up (``-X asyncsan``); importing
``asyncio`` there would cost every program that never uses it, so patches to ``asyncio``
and ``uvloop`` wait for the program's own import of them.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from importlib.machinery import ModuleSpec
from types import ModuleType
from typing import TYPE_CHECKING, Any, cast

if TYPE_CHECKING:
    from importlib.abc import Loader

_MISSING = object()


class Patcher:
    """Records every replaced attribute so that `restore` undoes all of them."""

    def __init__(self) -> None:
        self._undo: list[tuple[object, str, object]] = []
        self._finder: _PostImportFinder | None = None

    def replace(self, owner: object, name: str, wrap: Callable[[Any], object]) -> None:
        """Set ``owner.name`` to ``wrap(current value)``."""
        self._undo.append((owner, name, vars(owner).get(name, _MISSING)))
        setattr(owner, name, wrap(getattr(owner, name)))

    def when_imported(self, name: str, callback: Callable[[ModuleType], None]) -> None:
        """Run `callback(module)` now if `name` is imported, else right after its import.

        A module still being imported (uvloop's first line imports asyncio, whose callback
        hooks uvloop) gets the callback at the end of that import, provided `expect` named
        it before the import began.
        """
        module = sys.modules.get(name)
        if module is not None and not _initializing(module):
            callback(module)
            return
        self._pending(name).append(callback)

    def expect(self, name: str) -> None:
        """Watch the import of `name`, so that callbacks registered while it runs run."""
        self._pending(name)

    def _pending(self, name: str) -> list[Callable[[ModuleType], None]]:
        if self._finder is None:
            self._finder = _PostImportFinder()
            sys.meta_path.insert(0, self._finder)
        return self._finder.callbacks.setdefault(name, [])

    def restore(self) -> None:
        if self._finder is not None:
            if self._finder in sys.meta_path:
                sys.meta_path.remove(self._finder)
            self._finder = None
        for owner, name, value in reversed(self._undo):
            if value is _MISSING:
                delattr(owner, name)
            else:
                setattr(owner, name, value)
        self._undo.clear()


def _initializing(module: ModuleType) -> bool:
    return bool(getattr(getattr(module, "__spec__", None), "_initializing", False))


class _PostImportFinder:
    """A meta path finder that finds nothing itself: it wraps the real loader of watched
    modules so callbacks run once the module body has executed."""

    def __init__(self) -> None:
        self.callbacks: dict[str, list[Callable[[ModuleType], None]]] = {}

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> ModuleSpec | None:
        if fullname not in self.callbacks:
            return None
        finders = sys.meta_path[sys.meta_path.index(self) + 1 :]
        for finder in finders:
            find_spec = getattr(finder, "find_spec", None)
            spec: ModuleSpec | None = find_spec(fullname, path, target) if find_spec else None
            if spec is not None and spec.loader is not None:
                spec.loader = cast("Loader", _Loader(spec.loader, self, fullname))
                return spec
        return None


class _Loader:
    def __init__(self, loader: Any, finder: _PostImportFinder, name: str) -> None:
        self._loader = loader
        self._finder = finder
        self._name = name

    def create_module(self, spec: ModuleSpec) -> ModuleType | None:
        result: ModuleType | None = self._loader.create_module(spec)
        return result

    def exec_module(self, module: ModuleType) -> None:
        self._loader.exec_module(module)
        module.__loader__ = self._loader
        if module.__spec__ is not None:
            module.__spec__.loader = self._loader
        for callback in self._finder.callbacks.pop(self._name, ()):
            callback(module)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._loader, name)
