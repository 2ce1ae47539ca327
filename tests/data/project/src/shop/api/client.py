class AsyncClient:
    async def close(self):
        pass


class SyncClient:
    def close(self):
        pass
