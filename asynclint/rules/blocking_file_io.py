"""ASL304 blocking-file-io."""

from __future__ import annotations

from asynclint.rule import Invalid, Valid
from asynclint.rules._blocking import BlockingCallRule


class BlockingFileIo(BlockingCallRule):
    """
    ## What it does
    Flags synchronous file-system work inside an `async def`. That is:

    - opening files: `open`, `io.open`, `io.open_code`, `codecs.open`, `os.open`,
      `os.fdopen`, `gzip`/`bz2`/`lzma.open`, `tempfile.TemporaryFile`,
      `NamedTemporaryFile`, `TemporaryDirectory`, `mkstemp`, `mkdtemp`;
    - reading and writing a known sync file object (`f = open(...)`, `with open(...) as
      f`, `p.open()`, `f: io.TextIOWrapper`): `read`, `readline(s)`, `readinto`,
      `write`, `writelines`, `flush`, `truncate`, and iterating it with `for line in f`;
    - `pathlib.Path` methods that touch the disk (`read_text`, `write_bytes`, `open`,
      `exists`, `is_file`, `stat`, `iterdir`, `glob`, `mkdir`, `unlink`, `rename`,
      `resolve`, ...) on an object known to be a `Path` (`Path(...)`, `path / "x"`,
      `path.parent`, an annotated `Path`);
    - disk-touching `os` calls (`stat`, `listdir`, `scandir`, `walk`, `remove`, `rename`,
      `makedirs`, `chmod`, ...), `os.path` queries (`exists`, `isfile`, `isdir`,
      `getsize`, `getmtime`, `realpath`, ...), `shutil` (`copy*`, `move`, `rmtree`,
      `disk_usage`, `which`, archives) and `glob.glob`.

    Pure path arithmetic is left alone: `os.path.join`, `basename`, `normpath`,
    `relpath`, `PurePath`, `Path.name`/`suffix`/`with_suffix`. So are async
    file libraries (`aiofiles`, `anyio.Path`, `trio.Path`) and awaited calls.

    ## Why is this bad?
    File-system calls block the calling thread until the kernel answers. On a local SSD
    that is usually short, but a cold cache, a large file, a network file system or a
    busy disk turns each call into milliseconds to seconds during which no other task
    runs. The latency shows up in unrelated requests, which makes it hard to trace.

    ## Example
    ```python
    async def load_config(path):
        with open(path) as f:
            return json.load(f)
    ```

    ## Use instead
    Run the blocking part in a thread, or use an async file library:
    ```python
    async def load_config(path):
        text = await asyncio.to_thread(Path(path).read_text)
        return json.loads(text)
    ```

    ## Fix safety
    There is no automatic fix: the right boundary for `asyncio.to_thread` (one call, or
    the whole read-parse step) is a design decision.

    ## Options
    None.
    """

    code = "ASL304"
    name = "blocking-file-io"

    examples = (
        Invalid(
            """
            import io
            import os
            import os.path as osp
            import shutil
            import tempfile
            from os.path import exists as there

            async def save(path, data):
                with open(path, "w") as f:  # error: ASL304@10
                    f.write(data)  # error: ASL304@9
                    f.flush()  # error: ASL304@9
                stream = io.open(path)  # error: ASL304@14
                for line in stream:  # error: ASL304@17
                    print(line)
                for row in open(path):  # error: ASL304@16
                    print(row)
                os.makedirs("out", exist_ok=True)  # error: ASL304@5
                if osp.isfile(path) and there(path):  # error: ASL304@8, ASL304@29
                    shutil.copy(path, "out")  # error: ASL304@9
                tempfile.mkstemp()  # error: ASL304@5
            """
        ),
        Invalid(
            """
            from io import TextIOWrapper
            from pathlib import Path

            HERE = Path(__file__).parent

            class Store:
                def __init__(self, root: Path):
                    self.root = root

                async def load(self, name, log: TextIOWrapper):
                    target = self.root / name
                    if not target.exists():  # error: ASL304@16
                        target.parent.mkdir(parents=True)  # error: ASL304@13
                    text = target.read_text()  # error: ASL304@16
                    (HERE / "cache").write_bytes(b"")  # error: ASL304@9
                    Path.home().joinpath("x").unlink()  # error: ASL304@9
                    log.write(text)  # error: ASL304@9
                    with target.open() as f:  # error: ASL304@14
                        f.readline()  # error: ASL304@13
                    return [line for line in log]  # error: ASL304@34
            """
        ),
        Valid(
            """
            import asyncio
            import os
            from pathlib import Path, PurePath

            import aiofiles
            import anyio

            async def save(path, data, handle):
                async with aiofiles.open(path, "w") as f:
                    await f.write(data)
                p = anyio.Path(path)
                if await p.exists():
                    await p.read_text()
                await asyncio.to_thread(Path(path).read_text)
                await asyncio.to_thread(os.remove, path)
                name = os.path.join("out", os.path.basename(path))
                normal = os.path.normpath(name)
                q = Path(path)
                PurePath(path).with_suffix(".txt")
                handle.write(data)
                return q.name, q.suffix, q.with_suffix(".bak"), normal, q / "x"
            """
        ),
        Valid(
            """
            import asyncio
            import json
            import typing

            async def load(path, loop):
                def read():
                    with open(path) as f:
                        return json.load(f)

                data = await loop.run_in_executor(None, read)
                lines = await asyncio.to_thread(lambda: open(path).readlines())
                return data, lines

            def sync_load(path):
                with open(path) as f:
                    return f.read()

            class Opener:
                def open(self, path): ...

            async def use(opener: Opener, files, buffer: typing.BinaryIO):
                opener.open("x")
                for f in files:
                    f.read()
                buffer.write(b"")
                buffer.flush()
            """
        ),
    )
