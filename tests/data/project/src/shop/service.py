from shop import Client, Store

from . import store
from .api import client as api_client
from .store import CachedStore, Runner, connect, spawn


class Service:
    def __init__(self, backend: Store) -> None:
        self.backend = backend
        self.client = Client()
        self.sync = api_client.SyncClient()

    async def run(self, cached: CachedStore, other) -> None:
        self.backend.fetch(1)  # coroutine: True
        cached.fetch(1)  # coroutine: True
        cached.clear()  # coroutine: False
        cached.cached()  # coroutine: False
        self.client.close()  # coroutine: True
        self.sync.close()  # coroutine: False
        api_client.SyncClient().close()  # coroutine: False
        connect()  # coroutine: True
        store.connect()  # coroutine: True
        other.close()  # coroutine: None
        self.helper()  # coroutine: True
        spawn(self.helper())  # coroutine: False
        runner = Runner()
        runner.start(self.helper())  # coroutine: False
        runner.keep(self.helper())  # coroutine: False
        store.spawn(self.helper())  # coroutine: False

    async def helper(self) -> None:
        pass
