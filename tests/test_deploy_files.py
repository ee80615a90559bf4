"""The Dockerfile and compose.yaml, checked as they are written, without a Docker engine.

No engine runs here, so the image is "built" by reading the Dockerfile: its COPY lines are
copied into a temporary folder standing for the image's WORKDIR, its ENV (ARG defaults
substituted) becomes the process environment, with the WORKDIR path mapped to that folder,
and `python` is the project's venv (standing for the image's interpreter with
requirements.txt installed). Its CMD then runs against the fake Discord, and its HEALTHCHECK
command must exit 0, with the configuration exactly as config/netbot.example.yaml ships it.

The runtime user: the commands run as the test's own user, because the venv's interpreter
may live where another uid cannot read it (here: under /root). When the tests run as root,
the copied files stay root-owned as COPY leaves them and the data directory alone is handed to
the Dockerfile's numeric USER, as the Dockerfile does; a shell running as that uid (`setpriv`,
no such account is needed) then proves it can write the data directory and cannot write the
application files. A non-root test user cannot switch users: USER is then only checked to be
non-root.

`docker compose config` runs when the compose plugin exists; the same invariants are always
checked on the parsed compose.yaml.
"""

from __future__ import annotations

import ast
import asyncio
import contextlib
import json
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from importlib.metadata import packages_distributions
from pathlib import Path

import pytest
import yaml

from fakes.discord import FakeDiscord
from netbot.core.config import ConfigError, load_config
from tests.plugins.redmine_server import RedmineServer

ROOT = Path(__file__).resolve().parents[1]
# What the runtime image may hold: the application, nothing for tests or development.
RUNTIME_SOURCES = {"requirements.txt", "netbot", "cogs", "threader.py", "tickets.py"}
DEV_TOOLS = {"pytest", "pytest-asyncio", "pytest-timeout", "hypothesis", "ruff", "mypy"}
DEV_TOOLS |= {"openapi-core", "types-pyyaml", "types-requests"}


# --- the Dockerfile, read ---------------------------------------------------------------


@dataclass
class Dockerfile:
    """The instructions of the final stage, continuation lines joined, comments dropped."""

    instructions: list[tuple[str, str]]
    args: dict[str, str] = field(default_factory=dict)

    @classmethod
    def read(cls, path: Path = ROOT / "Dockerfile") -> Dockerfile:
        text = re.sub(r"\\\n", " ", "\n".join(
            line for line in path.read_text().splitlines() if not line.lstrip().startswith("#")
        ))  # fmt: skip
        instructions = []
        for line in text.splitlines():
            if line.strip():
                word, _, rest = line.strip().partition(" ")
                instructions.append((word.upper(), rest.strip()))
        return cls(instructions)

    def all(self, word: str) -> list[str]:
        return [rest for w, rest in self.instructions if w == word]

    def last(self, word: str) -> str:
        values = self.all(word)
        assert values, f"the Dockerfile has no {word}"
        return values[-1]

    def substitute(self, text: str, values: dict[str, str]) -> str:
        return re.sub(r"\$\{(\w+)\}|\$(\w+)", lambda m: values[m.group(1) or m.group(2)], text)

    def env(self, **build_args: str) -> dict[str, str]:
        """ENV as the image has it: ARG defaults (or `build_args`) substituted."""
        values: dict[str, str] = {}
        for word, rest in self.instructions:
            if word == "ARG":
                name, _, default = rest.partition("=")
                values[name] = build_args.get(name, default)
            elif word == "ENV":
                for pair in shlex.split(rest):
                    name, _, value = pair.partition("=")
                    values[name] = self.substitute(value, values)
        arg_names = {rest.partition("=")[0] for rest in self.all("ARG")}
        return {k: v for k, v in values.items() if k not in arg_names}

    def arg_default(self, name: str) -> str:
        return next(r.partition("=")[2] for r in self.all("ARG") if r.partition("=")[0] == name)

    @property
    def cmd(self) -> list[str]:
        value = json.loads(self.last("CMD"))
        assert isinstance(value, list), "CMD in exec form, so SIGTERM reaches the process"
        return value

    @property
    def workdir(self) -> str:
        return self.last("WORKDIR")

    @property
    def healthcheck(self) -> str:
        """The HEALTHCHECK's command, shell form (run by /bin/sh -c in the image)."""
        return self.last("HEALTHCHECK").split(" CMD ", 1)[1]

    @property
    def user(self) -> str:
        return self.last("USER")

    def copies(self) -> list[tuple[list[str], str, list[str]]]:
        """Each COPY as (flags, sources, destination)."""
        result = []
        for rest in self.all("COPY"):
            parts = rest.split()
            flags = [p for p in parts if p.startswith("--")]
            paths = [p for p in parts if not p.startswith("--")]
            result.append((paths[:-1], paths[-1], flags))
        return result


def compose() -> dict:
    return yaml.safe_load((ROOT / "compose.yaml").read_text())


def interpolate(value: str) -> str:
    """Compose's `${NAME:-default}` with nothing set in the environment: the default."""
    return re.sub(r"\$\{\w+:-([^}]*)\}", r"\1", value)


def requirement_lines(name: str) -> list[str]:
    return [
        line.strip()
        for line in (ROOT / name).read_text().splitlines()
        if line.strip() and not line.strip().startswith("#")
    ]


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


# --- static invariants --------------------------------------------------------------------


def test_compose_runs_bot_and_threader_from_the_project_image(tmp_path: Path) -> None:
    check_with_docker_compose(tmp_path)
    services = compose()["services"]
    image = Dockerfile.read()
    assert {"bot", "threader", "postgres"} <= set(services)
    assert services["bot"]["command"] == image.cmd == ["python", "-m", "netbot"]
    assert services["threader"]["command"] == ["python", "threader.py", "--every", "30s"]
    assert (ROOT / "threader.py").is_file()
    assert services["bot"]["restart"] == "unless-stopped"
    for name in ("bot", "threader"):
        service = services[name]
        # Built from the same Dockerfile, into the same image.
        assert service["build"] == services["bot"]["build"]
        assert service["image"] == services["bot"]["image"]
        assert service["env_file"] == ".env"
        assert "netbot-data:/app/data" in service["volumes"]
        assert f"./config:{image.workdir}/config:ro" in service["volumes"]
        # SIGTERM drains running commands: give it time before SIGKILL.
        assert service["stop_grace_period"] == "30s"


def test_the_side_door_port_is_set_in_one_place() -> None:
    image = Dockerfile.read()
    port = image.arg_default("HTTP_PORT")
    env = image.env()
    assert env["NETBOT_HTTP_PORT"] == port
    assert env["NETBOT_HTTP_ENABLED"] in ("1", "true")
    assert env["NETBOT_HTTP_HOST"] == "0.0.0.0"
    assert image.all("EXPOSE") == ["${HTTP_PORT}"]
    assert "${NETBOT_HTTP_PORT}/healthz" in image.healthcheck
    assert "curl" not in image.healthcheck and "wget" not in image.healthcheck
    bot = compose()["services"]["bot"]
    # Published on loopback only, the same port on both sides, changed by NETBOT_HTTP_PORT.
    assert bot["build"]["args"] == {"HTTP_PORT": "${NETBOT_HTTP_PORT:-" + port + "}"}
    assert bot["ports"] == ["127.0.0.1:${NETBOT_HTTP_PORT:-8080}:${NETBOT_HTTP_PORT:-8080}"]
    assert interpolate(bot["ports"][0]) == f"127.0.0.1:{port}:{port}"
    # The bot keeps the image's health check (compose neither replaces nor disables it).
    assert "healthcheck" not in bot


def test_the_threader_is_left_out_until_asked_for_and_has_its_own_health_check() -> None:
    threader = compose()["services"]["threader"]
    assert threader["profiles"] == ["threader"]
    # It never exits on a configuration problem (it waits; see the run test below), so a
    # restart policy cannot loop.
    assert threader["restart"] == "unless-stopped"
    assert threader["healthcheck"]["test"] == ["CMD", "python", "threader.py", "--health"]
    assert "ports" not in threader and "depends_on" not in threader


def test_postgres_profile_starts_the_bot_after_a_healthy_database() -> None:
    data = compose()
    postgres = data["services"]["postgres"]
    assert postgres["profiles"] == ["postgres"]
    assert "pg_isready" in " ".join(postgres["healthcheck"]["test"])
    assert "ports" not in postgres  # reachable on the compose network only
    dependency = data["services"]["bot"]["depends_on"]["postgres"]
    # Waits for a healthy database when the profile is on; ignored when it is off.
    assert dependency == {"condition": "service_healthy", "required": False}
    assert "netbot-pg" in data["volumes"] and "netbot-data" in data["volumes"]

    env = postgres["environment"]
    expected = (
        f"postgresql+psycopg://{env['POSTGRES_USER']}:{env['POSTGRES_PASSWORD']}"
        f"@postgres:5432/{env['POSTGRES_DB']}"
    )
    example = (ROOT / ".env.example").read_text()
    shown = re.findall(r"^#?\s*DATABASE_URL=(\S+)$", example, re.M)
    assert expected in shown, shown
    assert "psycopg" in {canonical(line.split("==")[0]) for line in requirement_lines(
        "requirements.txt"
    )}  # fmt: skip


def test_every_named_volume_is_declared() -> None:
    data = compose()
    declared = set(data["volumes"])
    for service in data["services"].values():
        for volume in service.get("volumes", []):
            source = volume.split(":", 1)[0]
            if not source.startswith((".", "/")):
                assert source in declared, f"volume {source} is not declared"


def check_with_docker_compose(tmp_path: Path) -> None:
    """The compose plugin's own model, where the plugin exists (no engine is needed). Where it
    does not, this is a no-op (not a skip: CI fails on skips): the parsed-file tests stand."""
    docker = shutil.which("docker")
    if (
        docker is None
        or subprocess.run(
            [docker, "compose", "version"], capture_output=True, check=False
        ).returncode
    ):
        return
    for name in ("compose.yaml", "Dockerfile", ".dockerignore"):
        shutil.copy(ROOT / name, tmp_path / name)
    shutil.copy(ROOT / ".env.example", tmp_path / ".env")
    for profiles in ([], ["--profile", "postgres", "--profile", "threader"]):
        done = subprocess.run(
            [docker, "compose", *profiles, "config", "--format", "json"],
            cwd=tmp_path, capture_output=True, text=True, check=False,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        model = json.loads(done.stdout)
        assert ("threader" in model["services"]) == bool(profiles)
        assert model["services"]["bot"]["ports"][0]["published"] == "8080"


def test_dockerfile_slim_non_root_runtime_files_only() -> None:
    image = Dockerfile.read()
    assert re.match(r"python:3\.11-slim\b", image.all("FROM")[-1])
    assert image.user.split(":")[0] not in ("root", "0", "")
    runs = " ".join(image.all("RUN"))
    assert "pip install -r requirements.txt" in runs
    assert "requirements-dev" not in (ROOT / "Dockerfile").read_text()
    for sources, _destination, flags in image.copies():
        assert set(sources) <= RUNTIME_SOURCES, sources
        # Application files stay root-owned: read-only to the runtime user.
        assert not any(flag.startswith("--chown") for flag in flags)
    # The one thing handed to the runtime user is its data directory.
    chowned = re.findall(r"\bchown\s+(?:-\S+\s+)?\S+\s+(\S+)", runs)
    assert chowned == [f"{image.workdir}/data"]
    assert image.workdir == "/app"
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert {"tests", "fakes", "bench", ".env", ".venv"} <= set(ignored)


def test_requirements_split_runtime_and_development_both_pinned() -> None:
    runtime = requirement_lines("requirements.txt")
    dev = requirement_lines("requirements-dev.txt")
    assert dev[0] == "-r requirements.txt"
    for lines in (runtime, dev[1:]):
        assert all("==" in line for line in lines), [line for line in lines if "==" not in line]
    runtime_names = {canonical(line.split("==")[0]) for line in runtime}
    dev_names = {canonical(line.split("==")[0]) for line in dev[1:]}
    assert not runtime_names & DEV_TOOLS, runtime_names & DEV_TOOLS
    assert dev_names >= DEV_TOOLS
    assert not runtime_names & dev_names
    assert {"py-cord", "python-redmine", "pynetbox", "slack-sdk", "sqlalchemy", "alembic"} <= (
        runtime_names
    )
    assert any(line.startswith("py-cord==2.8.") for line in runtime)


def test_runtime_requirements_cover_every_import_of_the_runtime_files() -> None:
    """Every third-party module the image's files import comes from requirements.txt."""
    runtime = {canonical(line.split("==")[0]) for line in requirement_lines("requirements.txt")}
    distributions = packages_distributions()
    local = {"netbot", "cogs", "threader", "tickets"}
    files = [ROOT / "threader.py", ROOT / "tickets.py"]
    files += [*(ROOT / "netbot").rglob("*.py"), *(ROOT / "cogs").rglob("*.py")]
    missing: set[str] = set()
    for path in files:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                modules = [alias.name.split(".")[0] for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                modules = [node.module.split(".")[0]]
            else:
                continue
            missing |= {
                f"{module} ({path.relative_to(ROOT)})"
                for module in modules
                if not (
                    module in sys.stdlib_module_names or module in local or module == "__future__"
                )
                and not {canonical(d) for d in distributions.get(module, [])} & runtime
            }
    assert not missing, sorted(missing)


def test_side_door_address_comes_from_the_environment_over_the_file(tmp_path: Path) -> None:
    path = tmp_path / "netbot.yaml"
    path.write_text(yaml.safe_dump({"guilds": [1], "http": {"port": 9000}}))
    environ = {"NETBOT_HTTP_ENABLED": "1", "NETBOT_HTTP_HOST": "0.0.0.0", "NETBOT_HTTP_PORT": "81"}
    http = load_config(path, environ=environ).http
    assert (http.enabled, http.host, http.port) == (True, "0.0.0.0", 81)
    assert load_config(path, environ={}).http.port == 9000
    with pytest.raises(ConfigError) as caught:
        load_config(path, environ={"NETBOT_HTTP_PORT": "eighty"})
    assert [p.key for p in caught.value.problems] == ["http.port (from NETBOT_HTTP_PORT)"]


# --- the image's commands, run outside Docker --------------------------------------------


@dataclass
class Image:
    """The image laid out in a folder: `root` stands for the WORKDIR."""

    root: Path
    env: dict[str, str]
    user: tuple[int, int] | None  # the runtime (uid, gid) when the tests can switch to it

    def shell_as_user(self, script: str) -> subprocess.CompletedProcess[str]:
        """`script` run by /bin/sh in the WORKDIR as the runtime user."""
        assert self.user is not None
        uid, gid = self.user
        return subprocess.run(
            ["setpriv", f"--reuid={uid}", f"--regid={gid}", "--clear-groups", "sh", "-c", script],
            cwd=self.root, capture_output=True, text=True, timeout=30, check=False,
        )  # fmt: skip

    @contextlib.asynccontextmanager
    async def running(
        self, argv: list[str], **extra: str
    ) -> AsyncIterator[asyncio.subprocess.Process]:
        """The command running as in the container; killed at the end if still alive."""
        process = await asyncio.create_subprocess_exec(
            *argv, cwd=self.root, env={**self.env, **extra},
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        try:
            yield process
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()

    def run(self, argv: list[str], **extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            argv, cwd=self.root, env={**self.env, **extra},
            capture_output=True, text=True, timeout=30, check=False,
        )  # fmt: skip


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def image() -> Iterator[Image]:
    """The Dockerfile's COPY lines laid out under a temporary WORKDIR, with the operator's
    mounted config folder holding config/netbot.example.yaml as shipped, unedited."""
    dockerfile = Dockerfile.read()
    base = Path(tempfile.mkdtemp(prefix="netbot-image-"))
    base.chmod(0o755)  # the runtime user must reach the WORKDIR, as in the image
    root = base / dockerfile.workdir.lstrip("/")
    root.mkdir(parents=True)
    for sources, destination, _flags in dockerfile.copies():
        target = root / destination
        for source in sources:
            if (ROOT / source).is_dir():
                shutil.copytree(
                    ROOT / source, target / source if destination == "." else target,
                    ignore=shutil.ignore_patterns("__pycache__"), dirs_exist_ok=True,
                )  # fmt: skip
            else:
                shutil.copy(ROOT / source, target)
    (root / "config").mkdir()
    shutil.copy(ROOT / "config" / "netbot.example.yaml", root / "config" / "netbot.yaml")
    (root / "data").mkdir()
    (base / "tmp").mkdir(mode=0o1777)
    (base / "tmp").chmod(0o1777)
    (base / "bin").mkdir()
    # `python` on PATH is the venv, standing for the image's interpreter and requirements.
    (base / "bin" / "python").write_text(f'#!/bin/sh\nexec "{sys.executable}" "$@"\n')
    (base / "bin" / "python").chmod(0o755)

    user = None
    uid_gid = dockerfile.user.split(":")
    if os.geteuid() == 0 and shutil.which("setpriv"):
        assert all(part.isdigit() for part in uid_gid), "USER as uid:gid, e.g. 10001:10001"
        user = (int(uid_gid[0]), int(uid_gid[-1]))
        os.chown(root / "data", *user)
    workdir = dockerfile.workdir
    env = {
        name: str(root) + value[len(workdir) :] if value.startswith(workdir + "/") else value
        for name, value in dockerfile.env(HTTP_PORT=str(free_port())).items()
    }
    env |= {"PATH": f"{base / 'bin'}:/usr/bin:/bin", "TMPDIR": str(base / "tmp")}
    try:
        yield Image(root, env, user)
    finally:
        shutil.rmtree(base)


async def read_until(process: asyncio.subprocess.Process, text: str) -> bytes:
    """The process's stderr up to and including the first line containing `text`."""
    assert process.stderr is not None
    seen = b""
    while text.encode() not in seen:
        line = await asyncio.wait_for(process.stderr.readline(), 60)
        if not line:
            raise AssertionError(f"the process ended before logging {text!r}: {seen.decode()}")
        seen += line
    return seen


async def stop(process: asyncio.subprocess.Process) -> str:
    """SIGTERM, then everything it wrote to stderr after that."""
    process.send_signal(signal.SIGTERM)
    _, rest = await asyncio.wait_for(process.communicate(), 30)
    return rest.decode()


async def test_the_image_command_passes_its_health_check_unedited(
    image: Image, fake_discord: FakeDiscord
) -> None:
    dockerfile = Dockerfile.read()
    # The operator's .env: the token, and (here) the fake Discord instead of Discord.
    operator = {"DISCORD_TOKEN": "fake-token", "DISCORD_API_BASE_URL": fake_discord.api_base_url}
    async with image.running(dockerfile.cmd, **operator) as process:
        await read_until(process, "background jobs started")
        health = image.run(["sh", "-c", dockerfile.healthcheck])
        assert health.returncode == 0, health.stderr
        if image.user is not None:
            # Application files are not writable by the runtime user; its data directory is.
            denied = image.shell_as_user("echo >> netbot/__init__.py")
            assert denied.returncode != 0 and "Permission denied" in denied.stderr
            assert image.shell_as_user("touch data/probe").returncode == 0
        log = await stop(process)
    assert process.returncode == 0, log
    assert "shut down cleanly" in log


async def test_an_unconfigured_threader_waits_unhealthy_instead_of_exiting(image: Image) -> None:
    service = compose()["services"]["threader"]
    async with image.running(service["command"]) as process:
        seen = await read_until(process, "waiting")
        assert b"REDMINE_URL is not set" in seen
        assert process.returncode is None
        health = image.run(service["healthcheck"]["test"][1:])
        assert health.returncode == 1, health.stderr
        log = await stop(process)
    assert process.returncode == 0, log


@pytest.mark.redmine
async def test_a_configured_threader_passes_its_health_check(
    image: Image, redmine: RedmineServer, fake_discord: FakeDiscord
) -> None:
    service = compose()["services"]["threader"]
    port = {"NETBOT_THREADER_HTTP_PORT": str(free_port())}
    health = image.run(service["healthcheck"]["test"][1:], **port)
    assert health.returncode == 1  # not before its check has passed
    operator = {"REDMINE_URL": redmine.url, "REDMINE_TOKEN": redmine.admin_key,
                "DISCORD_TOKEN": "fake-token", "DISCORD_API_BASE_URL": fake_discord.api_base_url}  # fmt: skip
    async with image.running(service["command"], **operator, **port) as process:
        await read_until(process, "threader: ready")
        await read_until(process, "threader: first cycle done")  # Redmine and Discord reached
        health = image.run(service["healthcheck"]["test"][1:], **port)
        assert health.returncode == 0, health.stderr
        log = await stop(process)
    assert process.returncode == 0, log
    assert image.run(service["healthcheck"]["test"][1:], **port).returncode == 1  # gone with it
