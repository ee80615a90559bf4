"""The identity table: which Redmine login each Discord user acts as."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, CheckConstraint, String
from sqlalchemy.orm import Mapped, mapped_column

from netbot.core.models import Base, utcnow

LINK_PENDING = "pending"
LINK_APPROVED = "approved"


class UserLink(Base):
    """Which Redmine account a Discord user acts as, once an admin has approved it.

    People are keyed by their Discord id, never by name, because names change and ids do not.
    A user has at most one row: a request replaces any earlier one. Only an approved row lets
    the bot act in Redmine on the user's behalf; use `netbot.identity` rather than this model.
    """

    __tablename__ = "user_links"
    __table_args__ = (
        CheckConstraint(f"status IN ('{LINK_PENDING}', '{LINK_APPROVED}')", name="status"),
    )

    discord_user_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    # Indexed so the bot can answer "who on Discord is this Redmine user?" (notifications).
    redmine_login: Mapped[str] = mapped_column(String(255), index=True)
    status: Mapped[str] = mapped_column(String(16))
    requested_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    # The Discord id of the admin who approved it, kept as a trail of who vouched for the link.
    decided_by: Mapped[int | None] = mapped_column(BigInteger)
    decided_at: Mapped[dt.datetime | None]
