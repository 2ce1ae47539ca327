from shop.service import Service
from shop.store import Store


async def test_run():
    service = Service(Store())
    service.helper()  # coroutine: True
    Store().fetch(2)  # coroutine: True
