"""ASL302 blocking-http."""

from __future__ import annotations

from asynclint.rule import Invalid, Valid
from asynclint.rules._blocking import BlockingCallRule


class BlockingHttp(BlockingCallRule):
    """
    ## What it does
    Flags synchronous HTTP requests inside an `async def`. They are the `requests`
    functions (`requests.get`, `requests.post`, ..., `requests.request`) and the methods
    of a `requests.Session`; the `httpx` module functions and the methods of an
    `httpx.Client`; `urllib.request.urlopen`/`urlretrieve`; `urllib3.request` and the
    `request`/`urlopen` methods of `urllib3` pool managers and connection pools; and
    `http.client` connections' `request`/`getresponse`.

    Methods are flagged only when the object's type is known from local evidence: created
    in the function (`session = requests.Session()`, `with httpx.Client() as client:`),
    annotated (`client: httpx.Client`), or assigned to `self.x` in the class. A `get` on an
    object of unknown type (an `aiohttp.ClientSession`, an `httpx.AsyncClient`, a dict) is
    never flagged, and neither is an awaited call.

    ## Why is this bad?
    A synchronous HTTP request holds the event loop thread for the whole round trip:
    DNS, connect, TLS handshake, the server's think time and the download. Every other
    task waits, and a slow or hanging server stalls the whole process.

    ## Example
    ```python
    async def fetch_user(user_id):
        response = requests.get(f"{API}/users/{user_id}", timeout=10)
        return response.json()
    ```

    ## Use instead
    An async HTTP client such as `aiohttp` or `httpx.AsyncClient`:
    ```python
    async def fetch_user(client: httpx.AsyncClient, user_id):
        response = await client.get(f"{API}/users/{user_id}", timeout=10)
        return response.json()
    ```
    Or keep the sync client and run it in a thread: `await asyncio.to_thread(requests.get,
    url)`.

    ## Fix safety
    There is no automatic fix: the async client has a different API and its own lifetime
    to manage.

    ## Options
    None.
    """

    code = "ASL302"
    name = "blocking-http"

    examples = (
        Invalid(
            """
            import httpx
            import requests
            import requests as rq
            import urllib.request
            from requests import post as send
            from urllib.request import urlopen

            async def fetch(url):
                requests.get(url)  # error: ASL302@5
                rq.put(url, data=b"")  # error: ASL302@5
                send(url, json={})  # error: ASL302@5
                requests.request("PATCH", url)  # error: ASL302@5
                httpx.get(url)  # error: ASL302@5
                urllib.request.urlopen(url).read()  # error: ASL302@5
                body = urlopen(url, timeout=5)  # error: ASL302@12
                return [requests.head(u) for u in [url]]  # error: ASL302@13
            """
        ),
        Invalid(
            """
            import http.client
            import httpx
            import requests
            import urllib3

            class Api:
                def __init__(self):
                    self._session = requests.Session()
                    self._pool = urllib3.PoolManager()

                async def call(self, url, client: httpx.Client):
                    self._session.post(url)  # error: ASL302@9
                    self._pool.request("GET", url)  # error: ASL302@9
                    client.get(url)  # error: ASL302@9
                    with httpx.Client() as other:
                        other.stream("GET", url)  # error: ASL302@13
                    session = requests.session()
                    session.delete(url)  # error: ASL302@9
                    conn = http.client.HTTPSConnection("example.com")
                    conn.request("GET", "/")  # error: ASL302@9
                    conn.getresponse()  # error: ASL302@9
            """
        ),
        Valid(
            """
            import asyncio
            import aiohttp
            import httpx
            import requests

            async def fetch(url, session: aiohttp.ClientSession, cache):
                async with httpx.AsyncClient() as client:
                    await client.get(url)
                await session.get(url)
                cache.get(url)
                await asyncio.to_thread(requests.get, url)
                loop = asyncio.get_running_loop()
                await loop.run_in_executor(None, lambda: requests.get(url))
                prepared = requests.Request("GET", url).prepare()
                params = httpx.QueryParams({"a": 1})
                return prepared, params

            def sync_fetch(url):
                return requests.get(url)
            """
        ),
        Valid(
            """
            import requests

            class Client:
                def __init__(self, session):
                    self._session = session

                async def get(self, url):
                    return await self._session.get(url)

            async def main(client: Client, requests_made):
                await client.get("https://example.com")
                requests_made.get("https://example.com")

                def worker():
                    return requests.get("https://example.com")

                return worker
            """
        ),
    )
