"""Fakes of the outside services netbot talks to, all on 127.0.0.1 (the network guard
refuses anything else).

Each fake builds on `tests.fakes.http.FakeHttpServer`: one aiohttp server with `add_route`, a
request log (`requests`, `requests_to(route)`), injected faults (`fail_next`, `answer_next`,
`delay_next`, `hold`/`release`), waits without sleeping (`wait_for_requests`, `wait_until`),
and `failures` (a request the real service would refuse) that fail the test at exit. A
service's fake adds only its routes and its semantics (e.g. Kontur's search paging and
tokens, USGS's ETags).

The fake Discord (REST and gateway, checked against Discord's OpenAPI description) is its own
package, `tests/fakediscord/`; the real Redmine is started by `tests/plugins/redmine_server.py`.
"""
