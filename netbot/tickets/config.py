"""The `tickets:` section of the configuration: Redmine tickets from Discord and tickets.py."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field, field_validator

from netbot.core.config import Section, public_http_url


class TicketsConfig(Section):
    """Redmine tickets from Discord and from tickets.py."""

    project: str = Field(default="ops", min_length=1)
    cache_refresh_seconds: int = Field(default=120, ge=10)
    request_timeout_seconds: float = Field(default=10.0, gt=0)
    page_size: int = Field(default=10, ge=1, le=25)
    EXPECTED: ClassVar[dict[str, str]] = {
        "public_url": "an http(s) URL without user:password@, such as https://redmine.example.org"
    }

    # The Redmine address people see in links; default: REDMINE_URL without credentials.
    public_url: str | None = None

    @field_validator("public_url")
    @classmethod
    def _public_url(cls, value: str | None) -> str | None:
        """Links are posted to Discord for everyone to read: http(s), and no credentials."""
        if value is None:
            return None
        return public_http_url(value, "it is shown to everyone")
