"""Secrets come from the environment and .env, and never reach a log line."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from netbot.capabilities import env_vars
from netbot.core.logs import RedactSecrets, secret_values
from netbot.core.secrets import EnvVar, Secret, Secrets, Sharding, load_secrets

# A capability the core has never heard of: its variables still load, by declaration alone.
WIDGET_ENV = (
    EnvVar("WIDGET_URL", "the widget server", secret=False),
    EnvVar("WIDGET_KEY", "the widget key"),
)


def test_environment_wins_over_dotenv(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("REDMINE_URL=http://from-file/\nREDMINE_TOKEN=file-token\n")
    secrets = load_secrets(env_file, environ={"REDMINE_TOKEN": "env-token"}, env_vars=env_vars())
    assert secrets.value("REDMINE_URL") == "http://from-file"
    assert secrets.secret("REDMINE_TOKEN").reveal() == "env-token"
    assert secrets.missing("REDMINE_URL", "DISCORD_TOKEN") == ["DISCORD_TOKEN"]


def test_capability_variables_come_from_their_declarations(tmp_path: Path) -> None:
    environ = {"WIDGET_URL": "http://widgets/", "WIDGET_KEY": "widget-key-123", "OTHER": "x"}
    secrets = load_secrets(tmp_path / "none", environ=environ, env_vars=WIDGET_ENV)
    assert secrets.value("WIDGET_URL") == "http://widgets"
    assert secrets.secret("WIDGET_KEY").reveal() == "widget-key-123"
    assert "widget-key-123" not in repr(secrets)
    with pytest.raises(TypeError, match=r"WIDGET_KEY is a secret"):
        secrets.value("WIDGET_KEY")
    # Only declared variables are read; only secret ones are redacted from logs.
    assert secrets.missing("OTHER", "WIDGET_URL") == ["OTHER"]
    assert secret_values(secrets) == ["widget-key-123"]
    assert secrets.hint("WIDGET_KEY") == "the widget key"
    assert secrets.hint("DISCORD_TOKEN").startswith("Discord Developer Portal")


def test_tests_build_secrets_from_a_mapping() -> None:
    secrets = Secrets(env={"KONTUR_USERNAME": "someone", "KONTUR_PASSWORD": Secret("pw-123456")})
    assert secrets.value("KONTUR_USERNAME") == "someone"
    assert secrets.secret("KONTUR_PASSWORD").reveal() == "pw-123456"
    assert secrets.missing("KONTUR_USERNAME", "REDMINE_URL") == ["REDMINE_URL"]
    assert secret_values(secrets) == ["pw-123456"]


@pytest.mark.parametrize(
    ("count", "ids", "expected"),
    [
        ("", "", Sharding(None, None)),
        ("4", "", Sharding(4, None)),
        ("4", "2, 0", Sharding(4, (0, 2))),
    ],
)
def test_sharding_from_the_environment(count: str, ids: str, expected: Sharding) -> None:
    environ = {"NETBOT_SHARD_COUNT": count, "NETBOT_SHARD_IDS": ids}
    assert load_secrets(environ=environ).sharding == expected


@pytest.mark.parametrize(
    ("count", "ids", "problem"),
    [
        ("zero", "", "NETBOT_SHARD_COUNT must be a whole number"),
        ("0", "", "NETBOT_SHARD_COUNT must be a whole number"),
        ("", "0", "NETBOT_SHARD_IDS needs NETBOT_SHARD_COUNT"),
        ("2", "0,2", "shard numbers 0..1"),
        ("2", "a", "shard numbers 0..1"),
    ],
)
def test_nonsense_sharding_is_refused(count: str, ids: str, problem: str) -> None:
    environ = {"NETBOT_SHARD_COUNT": count, "NETBOT_SHARD_IDS": ids}
    with pytest.raises(ValueError, match=problem):
        _ = load_secrets(environ=environ).sharding


def test_secret_hides_its_value() -> None:
    secret = Secret("hunter2-hunter2")
    assert "hunter2" not in repr(secret) + str(secret) + f"{secret}"
    assert "hunter2" not in repr(load_secrets(environ={"DISCORD_TOKEN": "hunter2-hunter2"}))


def test_log_filter_blanks_secret_values(caplog: pytest.LogCaptureFixture) -> None:
    secrets = load_secrets(environ={"REDMINE_TOKEN": "0123456789abcdef"}, env_vars=env_vars())
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
