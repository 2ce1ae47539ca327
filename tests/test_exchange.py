"""The workers of a run share the modules they read lazily: each is parsed once per run."""

from __future__ import annotations

from pathlib import Path

from asynclint import exchange, index


def _site(tmp_path: Path, body: str) -> Path:
    site = tmp_path / "site"
    (site / "extlib").mkdir(parents=True, exist_ok=True)
    (site / "extlib" / "__init__.py").write_text("from .client import Client\n")
    (site / "extlib" / "client.py").write_text(body)
    return site


def _worker(site: Path, folder: Path) -> index.ProjectIndex:
    project = index.ProjectIndex(search_path=[str(site)])
    project.exchange = exchange.Folder(str(folder))
    return project


def test_a_module_one_worker_read_is_loaded_by_the_others(tmp_path: Path) -> None:
    site = _site(tmp_path, "class Client:\n    async def close(self): ...\n")
    shared = tmp_path / "modules"
    shared.mkdir()
    first = _worker(site, shared).function("extlib.Client.close")
    assert first is not None and first.is_async
    assert sorted(path.name for path in shared.iterdir()) == [
        "extlib.client.facts",
        "extlib.facts",
    ]
    # Parsed again, the module would now say otherwise: the second worker loads the facts.
    _site(tmp_path, "class Client:\n    def close(self): ...\n")
    second = _worker(site, shared)
    close = second.function("extlib.Client.close")
    assert close is not None and close.is_async
    assert second.modules["extlib.client"].in_project is False


def test_what_cannot_be_loaded_is_parsed(tmp_path: Path) -> None:
    site = _site(tmp_path, "class Client:\n    async def close(self): ...\n")
    shared = tmp_path / "modules"
    shared.mkdir()
    (shared / "extlib.client.facts").write_bytes(b"not a pickle")
    (shared / "extlib.facts").write_bytes(b"")
    close = _worker(site, shared).function("extlib.Client.close")
    assert close is not None and close.is_async
    assert exchange.Folder(str(shared)).take("extlib.client") is not None  # offered anew


def test_a_folder_gone_costs_nothing_but_the_sharing(tmp_path: Path) -> None:
    site = _site(tmp_path, "class Client:\n    async def close(self): ...\n")
    close = _worker(site, tmp_path / "missing").function("extlib.Client.close")
    assert close is not None and close.is_async
    assert not (tmp_path / "missing").exists()
