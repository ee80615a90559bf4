"""Pytest plugin: a test that tries to reach a non-loopback address fails.

Tests must never talk to the real Discord, Slack, NetBox or Redmine. The guard checks the
destination *before* the connection is attempted (so no packet leaves the machine) by patching
``socket.socket.connect``/``connect_ex`` and refusing name resolution to non-loopback addresses.
Loopback (127.0.0.0/8, ::1) and unix sockets stay allowed, which is all the fakes need.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterator
from typing import Any

import pytest

_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex
_real_getaddrinfo = socket.getaddrinfo


class NetworkAccessBlocked(AssertionError):
    """Raised instead of opening a connection to a non-loopback address."""


def _is_loopback(host: Any) -> bool:
    if isinstance(host, bytes):
        host = host.decode()
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(str(host).split("%", 1)[0]).is_loopback
    except ValueError:
        return False


def _check_address(sock: socket.socket, address: Any) -> None:
    if sock.family not in (socket.AF_INET, socket.AF_INET6):
        return  # unix sockets and socketpairs are local by construction
    host = address[0] if isinstance(address, tuple) else address
    if not _is_loopback(host):
        raise NetworkAccessBlocked(
            f"test tried to connect to {address!r}: only loopback is allowed"
        )


def _guarded_connect(self: socket.socket, address: Any) -> None:
    _check_address(self, address)
    return _real_connect(self, address)


def _guarded_connect_ex(self: socket.socket, address: Any) -> int:
    _check_address(self, address)
    return _real_connect_ex(self, address)


def _guarded_getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> list[Any]:
    """Resolve only loopback names and literals, so no DNS query leaves the machine either."""
    if host is not None and not _is_loopback(host):
        raise NetworkAccessBlocked(f"test tried to resolve {host!r}: only loopback is allowed")
    return _real_getaddrinfo(host, *args, **kwargs)


GUARDS = (
    (socket.socket, "connect", _guarded_connect),
    (socket.socket, "connect_ex", _guarded_connect_ex),
    (socket, "getaddrinfo", _guarded_getaddrinfo),
)


def install() -> None:
    """Guard the whole process for good (benchmarks, which run without pytest)."""
    for owner, name, guarded in GUARDS:
        setattr(owner, name, guarded)


@pytest.fixture(autouse=True)
def network_guard(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Active for every test. asyncio's connections go through the same socket methods."""
    for owner, name, guarded in GUARDS:
        monkeypatch.setattr(owner, name, guarded)
    yield
