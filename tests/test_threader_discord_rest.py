"""The threader's Discord client on its own: retries, backoff and what it never says."""

from __future__ import annotations

import pytest
from aiohttp import web

from fakes.http import FakeHttpServer
from netbot.core.secrets import Secret
from netbot.threader.discord_rest import DiscordError, DiscordRest, DiscordUnavailable, Webhook

TOKEN = "secret-bot-token"


async def me(request: web.Request) -> web.Response:
    assert request.headers["Authorization"] == f"Bot {TOKEN}"
    return web.json_response({"id": "42", "username": "netbot"})


async def forbidden(request: web.Request) -> web.Response:
    return web.json_response({"message": "Missing Permissions", "code": 50013}, status=403)


def client(server: FakeHttpServer, waits: list[float]) -> DiscordRest:
    async def sleep(seconds: float) -> None:  # the waits are recorded, not slept
        waits.append(seconds)

    return DiscordRest(server.url_for("/api/v{API_VERSION}"), Secret(TOKEN), sleep=sleep)


async def test_server_errors_are_retried_with_growing_backoff() -> None:
    server = FakeHttpServer("discord")
    server.add_route("GET", "/api/v10/users/@me", me, name="me")
    waits: list[float] = []
    async with server, client(server, waits) as discord:
        server.fail_next(503, times=2, route="me")
        assert (await discord.me())["id"] == "42"
        assert len(server.requests_to("me")) == 3
        assert waits == [0.5, 1.0]

        server.fail_next(500, times=6, route="me")
        with pytest.raises(DiscordUnavailable):
            await discord.me()


async def test_a_refusal_is_raised_at_once_and_never_shows_a_token() -> None:
    server = FakeHttpServer("discord")
    server.add_route("POST", "/api/v10/webhooks/7/{token}", forbidden, name="hook")
    waits: list[float] = []
    async with server, client(server, waits) as discord:
        hook = Webhook(7, Secret("webhook-token-value"))
        with pytest.raises(DiscordError) as caught:
            await discord.execute_webhook(hook, 9, "hi", "Alice")
        assert len(server.requests_to("hook")) == 1 and waits == []
        assert caught.value.code == 50013
        assert "webhook-token-value" not in str(caught.value)
        assert TOKEN not in repr(discord) and "Authorization" not in server.requests[-1].headers
        assert server.requests[-1].query == {"wait": "true", "thread_id": "9"}
