"""Logging set-up: one format everywhere, and a filter that blanks any secret that slips in."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from netbot.core.secrets import Secrets, mask_credentials

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class RedactSecrets(logging.Filter):
    """Replace every configured secret value in a record's message with ********, and mask
    any credential-looking value (URL passwords, key parameters, auth headers, Slack tokens)
    like /healthz does.

    Defence in depth: netbot never logs secrets on purpose, but a library's error message
    (a URL, a header dump) might carry one, and not only one of netbot's own.
    """

    def __init__(self, values: Iterable[str]) -> None:
        super().__init__()
        self._values = sorted({v for v in values if len(v) >= 6}, key=len, reverse=True)

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        text = record.exc_text or ""
        for value in self._values:
            message = message.replace(value, "********")
            text = text.replace(value, "********")
        message, text = mask_credentials(message), mask_credentials(text)
        record.msg, record.args, record.exc_text = message, None, text or None
        return True


def secret_values(secrets: Secrets) -> list[str]:
    return secrets.secret_values()


def setup_logging(level: str, secrets: Secrets) -> None:
    """Configure the root logger once, with the redaction filter on its handler."""
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    handler.addFilter(RedactSecrets(secret_values(secrets)))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    logging.getLogger("discord").setLevel(max(logging.INFO, logging.getLevelName(level)))
