from .api.client import AsyncClient as Client
from .store import Store

__all__ = ["Client", "Store"]
