import asyncio
import functools


class Store:
    async def fetch(self, key):
        return key

    def close(self):
        pass


class CachedStore(Store):
    def clear(self):
        pass

    @functools.lru_cache
    def cached(self):
        pass


async def connect():
    return Store()


def spawn(coro):
    return asyncio.create_task(coro)


class Runner:
    def __init__(self):
        self.tasks = set()

    def start(self, coro):
        return asyncio.get_running_loop().create_task(coro)

    def keep(self, coro):
        task = asyncio.create_task(coro)
        self.tasks.add(task)
        return task
