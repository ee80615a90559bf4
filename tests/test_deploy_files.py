"""compose.yaml and the Dockerfile, checked for structure (no Docker engine runs here)."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def compose() -> dict:
    return yaml.safe_load((ROOT / "compose.yaml").read_text())


def test_compose_runs_bot_and_threader_from_the_project_image() -> None:
    services = compose()["services"]
    assert {"bot", "threader", "postgres"} <= set(services)
    assert services["bot"]["command"] == ["python", "-m", "netbot"]
    assert services["threader"]["command"] == ["python", "threader.py"]
    assert (ROOT / "threader.py").is_file()
    assert services["bot"]["restart"] == "unless-stopped"
    for name in ("bot", "threader"):
        service = services[name]
        assert service["env_file"] == ".env"
        assert "netbot-data:/app/data" in service["volumes"]
        # SIGTERM drains running commands: give it time before SIGKILL.
        assert service["stop_grace_period"] == "30s"


def test_postgres_is_optional_and_keeps_its_data() -> None:
    data = compose()
    assert data["services"]["postgres"]["profiles"] == ["postgres"]
    assert "netbot-pg" in data["volumes"]
    assert "netbot-data" in data["volumes"]
    # The bot's side door is published on loopback only.
    assert data["services"]["bot"]["ports"] == ["127.0.0.1:8080:8080"]


def test_every_named_volume_is_declared() -> None:
    data = compose()
    declared = set(data["volumes"])
    for service in data["services"].values():
        for volume in service.get("volumes", []):
            source = volume.split(":", 1)[0]
            if not source.startswith((".", "/")):
                assert source in declared, f"volume {source} is not declared"


def test_dockerfile_slim_non_root_with_healthcheck() -> None:
    text = (ROOT / "Dockerfile").read_text()
    assert re.search(r"^FROM python:3\.11-slim\b", text, re.M)
    users = re.findall(r"^USER (\S+)", text, re.M)
    assert users and users[-1] not in ("root", "0")
    assert re.search(r"^HEALTHCHECK .*\n?.*/healthz", text, re.M)
    assert "pip install -r requirements.txt" in text


def test_requirements_are_pinned() -> None:
    lines = [
        line.strip()
        for line in (ROOT / "requirements.txt").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert all("==" in line for line in lines), [line for line in lines if "==" not in line]
    names = {line.split("==")[0].lower() for line in lines}
    assert {"py-cord", "python-redmine", "pynetbox", "slack_sdk", "sqlalchemy", "alembic"} <= names
    assert any(line.startswith("py-cord==2.8.") for line in lines)
