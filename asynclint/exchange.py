"""Facts of the modules read lazily, shared between the worker processes of one run.

The files each worker checks ask about the same installed packages and standard library
(``typing``, ``asyncio``, ``pytest``...): alone, every worker would parse all of them (on
the benchmark corpus about 200 modules, 5 MB of source, over a second of CPU per worker,
whatever the number of workers). A worker that reads one leaves its facts in a folder of
the run; the others load them, a hundredth of the cost of parsing. The folder is the run's
own temporary directory, gone when the run ends: nothing outlives the run, so ``--no-cache``
still means no state kept between runs. Two workers asking for a module at once both parse
it; each file is written whole (a rename), so a reader sees all of it or nothing.
"""

from __future__ import annotations

import os
import pickle
import tempfile

from asynclint import index


class Folder:
    """An :class:`asynclint.index.Exchange` in a folder only this run's processes use."""

    def __init__(self, path: str) -> None:
        self.path = path

    def take(self, name: str) -> index.ModuleFacts | None:
        try:
            with open(self._file(name), "rb") as file:
                found = pickle.load(file)
        except (OSError, EOFError, pickle.UnpicklingError):
            return None
        return found if isinstance(found, index.ModuleFacts) else None

    def offer(self, facts: index.ModuleFacts) -> None:
        try:
            descriptor, temporary = tempfile.mkstemp(dir=self.path, suffix=".tmp")
            with os.fdopen(descriptor, "wb") as file:
                pickle.dump(facts, file, pickle.HIGHEST_PROTOCOL)
            os.replace(temporary, self._file(facts.name))
        except OSError:
            pass  # the others parse it themselves

    def _file(self, name: str) -> str:
        return os.path.join(self.path, f"{name}.facts")
