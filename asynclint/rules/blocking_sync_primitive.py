"""ASL305 blocking-sync-primitive."""

from __future__ import annotations

from asynclint.rule import Invalid, Valid
from asynclint.rules._blocking import BlockingCallRule


class BlockingSyncPrimitive(BlockingCallRule):
    """
    ## What it does
    Flags waits on threads, thread locks, queues, futures, sockets and sync database
    drivers inside an `async def`. That is:

    - `acquire()` on, and `with` over, a `threading` (or `multiprocessing`) `Lock`,
      `RLock`, `Semaphore`, `BoundedSemaphore` or `Condition`; `Condition.wait`/
      `wait_for`, `Event.wait`, `Barrier.wait`, `Thread.join`, `Process.join`;
    - `get`/`put`/`join` on a `queue.Queue` (or `LifoQueue`, `PriorityQueue`,
      `SimpleQueue`, `multiprocessing.Queue`);
    - `result()`/`exception()` on a `concurrent.futures.Future` (from
      `executor.submit(...)` or `asyncio.run_coroutine_threadsafe(...)`),
      `concurrent.futures.wait`/`as_completed`, `executor.shutdown()` and `with` over an
      executor (which shuts it down on exit);
    - `input()` and `getpass.getpass()`;
    - DNS lookups (`socket.getaddrinfo`, `gethostbyname`, `gethostbyaddr`, `getfqdn`,
      ...), `socket.create_connection`, and `recv`/`send`/`connect`/`accept`/... on a
      socket created in the same function and never switched to non-blocking mode;
    - sync database drivers: `sqlite3.connect`, `psycopg2`/`psycopg`/`pymysql`/`MySQLdb`/
      `mysql.connector`/`pymssql`/`oracledb` `connect`, and `execute`/`fetch*`/`commit`/
      `rollback` on their connections and cursors.

    Objects are recognised from local evidence only (a constructor call, an annotation, a
    `with ... as` target, `self.x` assigned in the class). The non-blocking forms are left
    alone: `acquire(blocking=False)`, `acquire(timeout=0)`, `get(block=False)`,
    `get_nowait()`, `put_nowait()`, `event.wait(0)`, `future.result(timeout=0)`,
    `executor.shutdown(wait=False)`, and calls whose blocking switch is a variable. So is
    acquiring a `Lock` created by the statement just before: no other thread can hold it.

    ## Why is this bad?
    These calls park the event loop thread until another thread, process or server acts.
    Nothing else on the loop runs meanwhile, and when the party that should release the
    lock, fill the queue or complete the future is itself a task on the same loop, it
    never gets to run: the process deadlocks. `future.result()` on the future of
    `run_coroutine_threadsafe(coro, loop)` called from that same loop is the classic case.

    ## Example
    ```python
    async def consume(self):
        while True:
            job = self.jobs.get()  # self.jobs = queue.Queue()
            await self.handle(job)
    ```

    ## Use instead
    The asyncio primitive (`asyncio.Queue`, `asyncio.Lock`, `asyncio.Event`), or, when
    the other side really is a thread, the blocking wait moved to a thread:
    ```python
    async def consume(self):
        while True:
            job = await asyncio.to_thread(self.jobs.get)
            await self.handle(job)
    ```

    ## Fix safety
    There is no automatic fix: which side of the thread boundary the object belongs to is
    a design decision.

    ## Options
    None.
    """

    code = "ASL305"
    name = "blocking-sync-primitive"

    examples = (
        Invalid(
            """
            import queue
            import threading
            from threading import Lock as TLock

            LOCK = threading.RLock()

            class Worker:
                def __init__(self):
                    self._lock = TLock()
                    self._ready = threading.Event()
                    self._jobs = queue.Queue()
                    self._thread = threading.Thread(target=print)

                async def run(self):
                    self._lock.acquire()  # error: ASL305@9
                    with LOCK:  # error: ASL305@14
                        pass
                    self._ready.wait()  # error: ASL305@9
                    job = self._jobs.get()  # error: ASL305@15
                    self._jobs.put(job, True, 5)  # error: ASL305@9
                    self._jobs.join()  # error: ASL305@9
                    self._thread.join(timeout=10)  # error: ASL305@9
                    semaphore = threading.Semaphore(0)
                    semaphore.acquire(timeout=1)  # error: ASL305@9
                    handed_over = threading.Lock()
                    self._start(handed_over)
                    handed_over.acquire()  # error: ASL305@9

            _shared: threading.Lock | None = None

            async def update():
                global _shared
                if _shared is None:
                    _shared = threading.Lock()
                with _shared:  # error: ASL305@10
                    pass
            """
        ),
        Invalid(
            """
            import asyncio
            import concurrent.futures
            import socket
            import sqlite3

            async def main(loop, coro, pool: concurrent.futures.ThreadPoolExecutor):
                future = asyncio.run_coroutine_threadsafe(coro, loop)
                future.result()  # error: ASL305@5
                pool.submit(print).result()  # error: ASL305@5
                with concurrent.futures.ThreadPoolExecutor() as executor:  # error: ASL305@10
                    executor.shutdown()  # error: ASL305@9
                name = input("name? ")  # error: ASL305@12
                socket.getaddrinfo("example.com", 443)  # error: ASL305@5
                sock = socket.socket()
                sock.connect(("example.com", 80))  # error: ASL305@5
                db = sqlite3.connect("app.db")  # error: ASL305@10
                cursor = db.cursor()
                cursor.execute("select 1")  # error: ASL305@5
                return cursor.fetchall(), name  # error: ASL305@12
            """
        ),
        Valid(
            """
            import asyncio
            import queue
            import threading

            lock = threading.Lock()
            jobs = queue.Queue()

            async def run(flag, block):
                lock.acquire(blocking=False)
                lock.acquire(False)
                lock.acquire(timeout=0)
                lock.acquire(block)
                jobs.get(block=False)
                jobs.get_nowait()
                jobs.put_nowait(1)
                jobs.put(1, False)
                jobs.get(timeout=0)
                await asyncio.to_thread(jobs.get)
                await asyncio.to_thread(lock.acquire)
                lock.release()
                jobs.qsize()
                alock = asyncio.Lock()
                async with alock:
                    pass
                await alock.acquire()
                event = asyncio.Event()
                await event.wait()
                aqueue = asyncio.Queue()
                await aqueue.get()
                flag.wait()
                fresh = threading.Lock()
                fresh.acquire()
            """
        ),
        Valid(
            """
            import asyncio
            import socket
            import threading

            class Service:
                def __init__(self):
                    self._lock = threading.Lock()
                    self._stopped = threading.Event()

                async def serve(self, sock: socket.socket, fut):
                    sock.recv(1024)
                    raw = socket.socket()
                    raw.setblocking(False)
                    raw.connect_ex(("example.com", 80))
                    raw.recv(10)
                    self._stopped.wait(0)
                    self._stopped.is_set()
                    fut.result()
                    await asyncio.wrap_future(fut)

                    def in_thread():
                        with self._lock:
                            self._stopped.wait()

                    await asyncio.to_thread(in_thread)
            """
        ),
    )
