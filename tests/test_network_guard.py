"""The network guard refuses non-loopback connections before any packet leaves.

192.0.2.1 (TEST-NET-1) is never routed: without the guard these connects would hang until a
timeout rather than fail, so an immediate NetworkAccessBlocked proves the guard acted first.
"""

from __future__ import annotations

import asyncio
import socket

import aiohttp
import pytest
from aiohttp import web

from fakes.network_guard import NetworkAccessBlocked


def test_connect_to_non_loopback_is_refused() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(5)
        with pytest.raises(NetworkAccessBlocked, match=r"192\.0\.2\.1"):
            sock.connect(("192.0.2.1", 80))
        with pytest.raises(NetworkAccessBlocked):
            sock.connect_ex(("192.0.2.1", 80))


def test_create_connection_and_dns_are_refused() -> None:
    with pytest.raises(NetworkAccessBlocked):
        socket.create_connection(("192.0.2.1", 80), timeout=5)
    with pytest.raises(NetworkAccessBlocked, match=r"discord\.com"):
        socket.getaddrinfo("discord.com", 443)


async def test_asyncio_and_aiohttp_are_refused() -> None:
    with pytest.raises(NetworkAccessBlocked):
        await asyncio.wait_for(asyncio.open_connection("192.0.2.1", 80), 5)
    async with aiohttp.ClientSession() as session:
        with pytest.raises(NetworkAccessBlocked):
            await asyncio.wait_for(session.get("https://discord.com/api/v10/gateway"), 5)


async def test_loopback_still_works() -> None:
    async def hello(request: web.Request) -> web.Response:
        return web.Response(text="local")

    app = web.Application()
    app.router.add_get("/", hello)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        async with aiohttp.ClientSession() as session:
            for host in ("127.0.0.1", "localhost"):
                async with session.get(f"http://{host}:{port}/") as response:
                    assert await response.text() == "local"
    finally:
        await runner.cleanup()


def test_unix_sockets_are_allowed() -> None:
    left, right = socket.socketpair()
    with left, right:
        left.sendall(b"ok")
        assert right.recv(2) == b"ok"
