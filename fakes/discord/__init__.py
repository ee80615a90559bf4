"""A fake Discord (REST + gateway on 127.0.0.1) for driving the real py-cord bot in tests.

Typical use::

    async with FakeDiscord() as fake, run_bot(make_bot(), fake):
        record = await fake.slash("netbot status")
        message = await record.message()
        assert message.allowed_mentions == {"parse": []}

One line per step (what the user sees)::

        reply = await fake.command("ticket show", ticket="12", by=alice)
        page = await fake.press(reply, "Next", by=alice)
"""

from .contract import CONTRACT_CHECKING, SKIP_REASON
from .harness import FakeDiscord, run_bot
from .records import FakeMessage, InteractionRecord, RequestRecord

__all__ = [
    "CONTRACT_CHECKING",
    "SKIP_REASON",
    "FakeDiscord",
    "FakeMessage",
    "InteractionRecord",
    "RequestRecord",
    "run_bot",
]
