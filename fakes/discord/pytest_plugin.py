"""Pytest fixtures for the fake Discord (listed in ``pytest_plugins`` in tests/conftest.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from .harness import FakeDiscord


@pytest.fixture
async def fake_discord() -> AsyncIterator[FakeDiscord]:
    """A running fake Discord; recorded failures (unknown routes, contract violations) fail
    the test at teardown. Start the bot with ``async with run_bot(bot, fake_discord):``."""
    async with FakeDiscord() as fake:
        yield fake
