"""Secrets come from the environment and .env, and never reach a log line."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from netbot.core.logs import RedactSecrets, secret_values
from netbot.core.secrets import Secret, load_secrets


def test_environment_wins_over_dotenv(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("REDMINE_URL=http://from-file/\nREDMINE_TOKEN=file-token\n")
    secrets = load_secrets(env_file, environ={"REDMINE_TOKEN": "env-token"})
    assert secrets.redmine_url == "http://from-file"
    assert secrets.redmine_token.reveal() == "env-token"
    assert secrets.missing("REDMINE_URL", "DISCORD_TOKEN") == ["DISCORD_TOKEN"]


def test_secret_hides_its_value() -> None:
    secret = Secret("hunter2-hunter2")
    assert "hunter2" not in repr(secret) + str(secret) + f"{secret}"
    assert "hunter2" not in repr(load_secrets(environ={"DISCORD_TOKEN": "hunter2-hunter2"}))


def test_log_filter_blanks_secret_values(caplog: pytest.LogCaptureFixture) -> None:
    secrets = load_secrets(environ={"REDMINE_TOKEN": "0123456789abcdef"})
    logger = logging.getLogger("test.redact")
    logger.addFilter(RedactSecrets(secret_values(secrets)))
    try:
        with caplog.at_level(logging.INFO, logger="test.redact"):
            logger.info("calling %s with key %s", "redmine", "0123456789abcdef")
            try:
                raise ValueError("bad key 0123456789abcdef")
            except ValueError:
                logger.exception("failed")
    finally:
        logger.filters.clear()
    assert "0123456789abcdef" not in caplog.text
    assert "calling redmine with key ********" in caplog.text
    assert "bad key ********" in caplog.text
