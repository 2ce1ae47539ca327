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
