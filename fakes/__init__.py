"""Fakes of the outside services netbot talks to, all on 127.0.0.1, for tests and benches.

Shared by `tests/` and `bench/` (benches import no test module). `http.FakeHttpServer` is the
base: one aiohttp server with `add_route`, a request log, injected faults (`fail_next`,
`answer_next`, `delay_next`, `hold`/`release`), waits without sleeping, and `failures` (a
request the real service would refuse) that fail the test at exit. A service's fake adds only
its routes and its semantics: `kontur` (the Event API: search paging, tokens), `usgs` (the
GeoJSON summary feed, ETags), `discord/` (REST and gateway, checked against Discord's OpenAPI
description), `redmine_proxy` (faults in front of the real Redmine). `alert_events` builds
Event API payloads; `network_guard` refuses every connection beyond loopback.
"""
