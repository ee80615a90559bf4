"""The shared fake HTTP server: routes, the request log, faults and waits behave as documented."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest
from aiohttp import web

from fakes.http import FakeHttpServer


async def hello(request: web.Request) -> web.StreamResponse:
    return web.json_response({"hello": request.query.get("name", "world")})


async def test_routes_answer_and_every_request_is_recorded() -> None:
    server = FakeHttpServer("greeter")
    server.add_route("GET", "/hello", hello, name="hello")
    server.add_route("POST", "/token", hello)
    async with server, aiohttp.ClientSession() as http:
        async with http.get(server.url_for("/hello"), params={"name": "ops"}) as response:
            assert (response.status, await response.json()) == (200, {"hello": "ops"})
        async with http.post(server.url_for("/token"), data={"grant_type": "password"}) as response:
            assert response.status == 200
        first, second = server.requests
        assert (first.route, first.method, first.query, first.status) == (
            "hello", "GET", {"name": "ops"}, 200,
        )  # fmt: skip
        assert (second.route, second.form) == ("/token", {"grant_type": "password"})
        assert server.requests_to("hello") == [first]


async def test_faults_apply_to_their_route_in_order_then_stop() -> None:
    server = FakeHttpServer()
    server.add_route("GET", "/a", hello, name="a")
    server.add_route("GET", "/b", hello, name="b")
    async with server, aiohttp.ClientSession() as http:
        server.fail_next(503, times=2, route="b")
        server.answer_next(200, '{"broken":', route="b")
        statuses = []
        for path in ("/a", "/b", "/b", "/b", "/b"):
            async with http.get(server.url_for(path)) as response:
                statuses.append((response.status, await response.text()))
        assert statuses == [
            (200, '{"hello": "world"}'),
            (503, "injected 503"),
            (503, "injected 503"),
            (200, '{"broken":'),
            (200, '{"hello": "world"}'),
        ]


async def test_faults_for_any_route_and_for_one_apply_oldest_first() -> None:
    server = FakeHttpServer()
    server.add_route("GET", "/a", hello, name="a")
    server.add_route("GET", "/b", hello, name="b")
    async with server, aiohttp.ClientSession() as http:
        server.fail_next(500, route="a")
        server.fail_next(502)  # whichever route is asked next
        server.fail_next(503, route="a")
        statuses = []
        for path in ("/b", "/a", "/a", "/a", "/b"):
            async with http.get(server.url_for(path)) as response:
                statuses.append(response.status)
        assert statuses == [502, 500, 503, 200, 200]


async def test_cleared_faults_and_zero_times_inject_nothing() -> None:
    server = FakeHttpServer()
    server.add_route("GET", "/a", hello, name="a")
    server.add_route("GET", "/b", hello, name="b")
    async with server, aiohttp.ClientSession() as http:
        server.fail_next(500, times=30, route="a")
        server.fail_next(503, times=30, route="b")
        server.clear_faults("a")
        server.fail_next(500, times=0, route="a")
        statuses = []
        for path in ("/a", "/b"):
            async with http.get(server.url_for(path)) as response:
                statuses.append(response.status)
        server.clear_faults()
        async with http.get(server.url_for("/b")) as response:
            statuses.append(response.status)
        assert statuses == [200, 503, 200]


async def test_a_held_request_waits_for_release_and_waits_see_it_arrive() -> None:
    server = FakeHttpServer()
    server.add_route("GET", "/a", hello)
    async with server, aiohttp.ClientSession() as http:
        server.hold()
        call = asyncio.create_task(http.get(server.url_for("/a")))
        await server.wait_for_requests(1)
        assert server.requests[0].status == 0 and not call.done()
        server.release()
        async with await call as response:
            assert response.status == 200
        await server.wait_until(lambda: server.requests[0].status == 200, "the answer")


async def test_a_delayed_request_is_freed_when_the_server_stops() -> None:
    server = FakeHttpServer()
    server.add_route("GET", "/a", hello)
    await server.start()
    server.delay_next(3600)
    async with aiohttp.ClientSession() as http:
        call = asyncio.create_task(http.get(server.url_for("/a")))
        await server.wait_for_requests(1)
        await server.stop()  # does not wait the hour out
        async with await call as response:
            assert response.status == 200


async def test_routes_are_added_before_start() -> None:
    async with FakeHttpServer("late") as server:
        with pytest.raises(AssertionError, match="late: add routes before start"):
            server.add_route("GET", "/a", hello)


async def test_recorded_failures_fail_the_test_at_exit() -> None:
    with pytest.raises(AssertionError, match="refused: bad query"):
        async with FakeHttpServer() as server:
            server.failures.append("refused: bad query")


async def test_a_wait_that_is_not_met_names_what_it_waited_for() -> None:
    async with FakeHttpServer("usgs") as server:
        with pytest.raises(AssertionError, match=r"usgs: timed out after 0\.05s on 1 request"):
            await server.wait_for_requests(1, within=0.05)
