"""The threader SIGKILLed at any point neither duplicates nor loses anything.

Real Redmine (behind the counting proxy), the fake Discord in this process, and
``threader.py --once`` as a subprocess on a SQLite file. Between and DURING runs, people
add notes in Redmine (as admin, alice and bob through python-redmine) and write, edit and
delete messages in the threads; each run is SIGKILLed at a point picked at random (right
after the fake Discord answered its Nth write, right after Redmine did its Nth write, or
at its Nth request), sometimes in a 429 storm. Then the threader is let finish and both
sides are compared: every message is in exactly one note, every note in exactly one
message, nothing echoed back.

The number of kills is NETBOT_THREADER_KILLS (12 here, so CI stays fast; bench/threader.py
runs 200).
"""

from __future__ import annotations

import os
from pathlib import Path

from fakes.threader_world import TOKEN_RE, ThreaderWorld
from tests.plugins.redmine_server import RedmineServer

KILLS = int(os.environ.get("NETBOT_THREADER_KILLS", "12"))


async def test_sigkill_at_random_points_neither_duplicates_nor_loses(
    redmine: RedmineServer, tmp_path: Path
) -> None:
    async with ThreaderWorld(redmine.url, redmine.info, tmp_path, seed=KILLS) as world:
        tickets = await world.new_tickets(3, subject="crash test")
        await world.enrol(tickets)
        await world.run("--once")  # enrols them
        await world.random_traffic(notes=2, messages=2, edits=0, deletes=0)
        done = await world.crash_run(KILLS)
        assert done.total() - done["runs"] == KILLS
        await world.settle()
        verdict = await world.compare()
        assert verdict.ok, (
            verdict.summary()
            + "\n"
            + "\n".join(verdict.duplicates + verdict.losses + verdict.echoes)
        )
        assert verdict.discord_messages >= KILLS and verdict.redmine_notes >= KILLS
        assert world.fake.early_retries == []  # 429s were waited out, never hammered
        posted = world.fake.webhook_messages()
        assert posted and all(m.allowed_mentions == {"parse": []} for m in posted)

        # The comparison itself can fail: a note copied twice, a post gone.
        said = next(s for s in world.said if not s.deleted)
        notes = (await world.journal_texts())[said.ticket]
        copied = await world.note(said.ticket, "admin", next(n for n in notes if said.token in n))
        [gone] = TOKEN_RE.findall(posted[0].content)
        posted[0].deleted = True
        broken = await world.compare()
        assert any(said.token in d for d in broken.duplicates), broken.summary()
        lost = {line.split()[0] for line in broken.losses}
        assert lost == {gone, copied} and not broken.ok  # the copy itself is not synced yet
