"""ASL303 blocking-subprocess."""

from __future__ import annotations

from asynclint.rule import Invalid, Valid
from asynclint.rules._blocking import BlockingCallRule


class BlockingSubprocess(BlockingCallRule):
    """
    ## What it does
    Flags starting or waiting for a child process synchronously inside an `async def`.
    That is `subprocess.run`, `call`, `check_call`, `check_output`, `getoutput`,
    `getstatusoutput` and `Popen`; the `wait()`/`communicate()` methods of a known
    `Popen` object; `os.system`, `os.popen`, `os.posix_spawn[p]`, the `os.spawn*` family,
    and `os.wait`, `os.wait3`, `os.wait4`, `os.waitid`, `os.waitpid`.

    Non-blocking forms are left alone: `os.waitpid(pid, os.WNOHANG)` (and the other
    `wait*` calls with `WNOHANG` in their options), `process.wait(timeout=0)`,
    `process.poll()`.

    ## Why is this bad?
    These calls hold the event loop thread until the child process exits (or, for
    `Popen`, until it has been forked and executed): a build step, a `git` command or a
    hanging child stalls every other task for as long as it runs.

    ## Example
    ```python
    async def thumbnail(path):
        subprocess.run(["convert", path, "-resize", "128x128", out], check=True)
    ```

    ## Use instead
    ```python
    async def thumbnail(path):
        process = await asyncio.create_subprocess_exec(
            "convert", path, "-resize", "128x128", out
        )
        if await process.wait():
            raise RuntimeError("convert failed")
    ```

    ## Fix safety
    There is no automatic fix: `asyncio` subprocesses have a different API (no
    `check=True`, streams instead of captured output).

    ## Options
    None.
    """

    code = "ASL303"
    name = "blocking-subprocess"

    examples = (
        Invalid(
            """
            import os
            import subprocess
            import subprocess as sp
            from subprocess import check_output as out

            async def build(cmd, pid):
                subprocess.run(cmd, check=True)  # error: ASL303@5
                sp.call(cmd)  # error: ASL303@5
                text = out(cmd)  # error: ASL303@12
                subprocess.getoutput("ls")  # error: ASL303@5
                os.system("make")  # error: ASL303@5
                os.popen("ls").read()  # error: ASL303@5
                os.spawnlp(os.P_WAIT, "make", "make")  # error: ASL303@5
                os.waitpid(pid, 0)  # error: ASL303@5
                os.wait()  # error: ASL303@5
                return text
            """
        ),
        Invalid(
            """
            import subprocess
            from subprocess import PIPE, Popen

            class Runner:
                async def run(self, cmd):
                    process = Popen(cmd, stdout=PIPE)  # error: ASL303@19
                    out, _ = process.communicate()  # error: ASL303@18
                    with subprocess.Popen(cmd) as child:  # error: ASL303@14
                        child.wait()  # error: ASL303@13
                    return out
            """
        ),
        Valid(
            """
            import asyncio
            import os
            import subprocess

            async def build(cmd, pid, proc):
                process = await asyncio.create_subprocess_exec(*cmd)
                await process.wait()
                await process.communicate()
                await asyncio.to_thread(subprocess.run, cmd)
                await asyncio.get_running_loop().run_in_executor(None, os.system, "make")
                os.waitpid(pid, os.WNOHANG)
                os.wait4(pid, os.WNOHANG | os.WUNTRACED)
                proc.wait()
                os.getpid()
                os.kill(pid, 9)

                def in_thread():
                    return subprocess.check_output(cmd)

                return in_thread
            """
        ),
        Valid(
            """
            import subprocess

            async def poll(cmd):
                child = await start(cmd)
                child.wait()
                started = subprocess.Popen

                def run_sync():
                    p = subprocess.Popen(cmd)
                    p.wait(timeout=0)
                    return p.poll()

                return started, run_sync

            async def start(cmd): ...

            async def reap(process: subprocess.Popen[bytes]):
                process.wait(timeout=0)
                process.communicate(None, 0)
                return process.poll()

            def main(cmd):
                subprocess.run(cmd)
            """
        ),
    )
