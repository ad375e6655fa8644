"""The docker image, without a docker engine: lint the Dockerfile, .dockerignore and
docker-compose.yml, then run the image's exact ENTRYPOINT + CMD and HEALTHCHECK command lines
against a local process with the image's environment.

Outside the image two things differ, both mechanical: ``python`` is this interpreter (with the
checkout on PYTHONPATH instead of the installed wheel), and paths under the image's WORKDIR
(``/app``) live in a temporary directory.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass, field
from fnmatch import fnmatch
from pathlib import Path

import pytest
import requests
import yaml

from mock_server.settings import OPTIONS, Settings
from mock_server.testing.process import ServerProcess

ROOT = Path(__file__).resolve().parents[2]
ENV_NAMES = {option.env for option in OPTIONS}


@dataclass
class Stage:
    base: str
    name: str | None
    instructions: list[tuple[str, str]] = field(default_factory=list)

    def all(self, keyword: str) -> list[str]:
        return [args for instruction, args in self.instructions if instruction == keyword]

    def last(self, keyword: str) -> str:
        found = self.all(keyword)
        assert found, f"no {keyword} in the stage FROM {self.base}"
        return found[-1]

    def env(self) -> dict[str, str]:
        values: dict[str, str] = {}
        for args in self.all("ENV"):
            for pair in shlex.split(args):
                name, _, value = pair.partition("=")
                values[name] = value
        return values

    def exec_form(self, keyword: str) -> list[str]:
        args = self.last(keyword)
        if keyword == "HEALTHCHECK":
            args = args.split("CMD", 1)[1]
        value = json.loads(args)
        assert isinstance(value, list), f"{keyword} must use the exec (JSON array) form"
        return value


def parse_dockerfile(text: str) -> list[Stage]:
    logical: list[str] = []
    pending = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        logical.append(pending + line)
        pending = ""
    stages: list[Stage] = []
    for line in logical:
        keyword, _, args = line.partition(" ")
        keyword, args = keyword.upper(), " ".join(args.split())
        if keyword == "FROM":
            base, _, name = args.partition(" AS ")
            stages.append(Stage(base.strip(), name.strip() or None))
        else:
            assert stages, f"{keyword} before FROM"
            stages[-1].instructions.append((keyword, args))
    return stages


DOCKERFILE = (ROOT / "Dockerfile").read_text(encoding="utf-8")
STAGES = parse_dockerfile(DOCKERFILE)
FINAL = STAGES[-1]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
IGNORED = [
    line.strip()
    for line in (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
    if line.strip() and not line.startswith("#")
]


# --- Dockerfile ---------------------------------------------------------------------------------


def test_multi_stage_slim_python_with_the_wheel_built_apart() -> None:
    assert len(STAGES) == 2
    builder = STAGES[0]
    assert builder.name == "builder"
    assert all(re.fullmatch(r"python:3\.1[1-3]-slim", stage.base) for stage in STAGES)
    assert any("pip wheel" in run for run in builder.all("RUN"))
    install = " ".join(FINAL.all("RUN"))
    assert "from=builder" in install and "--no-index" in install and "--no-cache-dir" in install
    # RUN --mount needs BuildKit's Dockerfile frontend, which the syntax line selects.
    assert DOCKERFILE.startswith("# syntax=docker/dockerfile:1")


def test_final_stage_has_no_build_tools_nor_source_tree() -> None:
    final_text = " ".join(args for _, args in FINAL.instructions)
    for tool in ("apt-get", "apk ", "gcc", "build-essential", "curl", "wget", "git "):
        assert tool not in final_text
    assert not FINAL.all("COPY") and not FINAL.all("ADD")  # the wheels are bind-mounted, not copied in


def test_runs_as_a_non_root_user() -> None:
    user = FINAL.last("USER")
    assert user not in {"root", "0"} and not user.startswith("0:")
    keywords = [instruction for instruction, _ in FINAL.instructions]
    assert keywords.index("USER") > max(i for i, k in enumerate(keywords) if k == "RUN")
    assert re.search(rf"useradd [^&]*\b{user}\b", " ".join(FINAL.all("RUN")))


def test_listens_on_all_interfaces_on_the_exposed_port() -> None:
    env = FINAL.env()
    assert env["MOCK_SERVER_HOST"] == "0.0.0.0"
    assert FINAL.last("EXPOSE") == env["MOCK_SERVER_PORT"]
    assert {name for name in env if name.startswith("MOCK_SERVER_")} <= ENV_NAMES


def test_volumes_for_scenarios_and_fixtures() -> None:
    volumes = json.loads(FINAL.last("VOLUME"))
    assert {"/app/scenarios", "/app/fixtures"} <= set(volumes)
    env = FINAL.env()
    # Scenario files add to the built-in rules, so an empty mount point is harmless and set by default;
    # fixture files replace the defaults, so they are used only when MOCK_SERVER_FIXTURES is set.
    assert env["MOCK_SERVER_SCENARIOS"] == "/app/scenarios"
    assert "MOCK_SERVER_FIXTURES" not in env
    assert "mkdir -p /app/scenarios /app/fixtures" in " ".join(FINAL.all("RUN"))


def test_healthcheck_needs_no_curl() -> None:
    options = FINAL.last("HEALTHCHECK").split("CMD", 1)[0]
    for option in ("--interval=", "--timeout=", "--start-period=", "--retries="):
        assert option in options
    assert FINAL.exec_form("HEALTHCHECK") == ["python", "-m", "mock_server.healthcheck"]
    assert FINAL.exec_form("ENTRYPOINT") == ["python", "-m", "mock_server"]
    assert FINAL.exec_form("CMD") == ["serve"]
    assert FINAL.last("STOPSIGNAL") == "SIGTERM"


def _ignored(path: str) -> bool:
    return any(fnmatch(path, pattern) or path.split("/")[0] == pattern for pattern in IGNORED)


def test_build_context_holds_what_the_builder_copies_and_nothing_else() -> None:
    for args in STAGES[0].all("COPY"):
        *sources, _ = args.split()
        for source in sources:
            assert (ROOT / source).exists(), source
            assert not _ignored(source), f"{source} is excluded by .dockerignore"
    for unwanted in (".git", ".venv", "tests", "docs", "mock_server/__pycache__"):
        assert _ignored(unwanted), unwanted


def test_every_data_file_of_the_package_goes_into_the_wheel() -> None:
    """pyproject's package-data globs and package discovery cover every non-Python file the server reads."""
    setuptools = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]
    globs = setuptools["package-data"]["*"]
    find = setuptools["packages"]["find"]
    # With pyproject configuration, directories without __init__.py (fixtures/) are namespace packages.
    assert find.get("namespaces", True)
    data = [
        p
        for p in (ROOT / "mock_server").rglob("*")
        if p.is_file() and p.suffix in {".yaml", ".yml", ".json", ".html"} and "__pycache__" not in p.parts
    ]
    assert data
    for path in data:
        package = ".".join(path.parent.relative_to(ROOT).parts)
        assert any(fnmatch(package, pattern) for pattern in find["include"]), path
        assert any(fnmatch(path.name, glob) for glob in globs), path


# --- docker-compose.yml -----------------------------------------------------------------------------


def test_compose_healthcheck_is_the_images_and_the_client_waits_for_it() -> None:
    sandbox, client = COMPOSE["services"]["sandbox"], COMPOSE["services"]["client"]
    assert sandbox["build"] == "."
    assert sandbox["healthcheck"]["test"] == ["CMD", *FINAL.exec_form("HEALTHCHECK")]
    assert {"interval", "timeout", "retries", "start_period"} <= set(sandbox["healthcheck"])
    assert client["depends_on"]["sandbox"]["condition"] == "service_healthy"
    published = [str(port).split(":") for port in sandbox["ports"]]
    assert [container for *_, container in published] == [FINAL.last("EXPOSE")]
    assert set(sandbox.get("environment", {})) <= ENV_NAMES
    grace = float(str(sandbox["stop_grace_period"]).rstrip("s"))
    assert grace > Settings().shutdown_grace  # docker's SIGKILL comes after the sandbox's own grace period


# --- the image's commands, run outside docker -----------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _outside_docker(command: list[str]) -> list[str]:
    assert command[0] == "python"
    return [sys.executable, *command[1:]]


@pytest.fixture(scope="module")
def image_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The image's ENV (``/app`` moved to a temporary WORKDIR with the same empty mount points)."""
    workdir = tmp_path_factory.mktemp("app")
    for volume in json.loads(FINAL.last("VOLUME")):
        (workdir / Path(volume).relative_to(FINAL.last("WORKDIR"))).mkdir(parents=True)
    env = {name: value.replace(FINAL.last("WORKDIR"), str(workdir)) for name, value in FINAL.env().items()}
    return {**env, "MOCK_SERVER_PORT": str(_free_port()), "PYTHONPATH": str(ROOT), "WORKDIR": str(workdir)}


@pytest.fixture(scope="module")
def image_process(image_env: dict[str, str]) -> Iterator[ServerProcess]:
    command = _outside_docker(FINAL.exec_form("ENTRYPOINT") + FINAL.exec_form("CMD"))
    process = ServerProcess(command=command, env=image_env, cwd=image_env["WORKDIR"])
    with process:
        yield process
        assert process.stop(signal.Signals[FINAL.last("STOPSIGNAL")]) == 0


def _healthcheck(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    command = _outside_docker(FINAL.exec_form("HEALTHCHECK"))
    return subprocess.run(command, env={**os.environ, **env}, capture_output=True, text=True, timeout=30)


def test_healthcheck_fails_while_nothing_listens(image_env: dict[str, str]) -> None:
    result = _healthcheck({**image_env, "MOCK_SERVER_PORT": str(_free_port())})
    assert result.returncode == 1 and "unhealthy" in result.stderr


def test_entrypoint_serves_on_all_interfaces_and_healthcheck_passes(
    image_process: ServerProcess, image_env: dict[str, str]
) -> None:
    assert (image_process.host, image_process.port) == ("0.0.0.0", int(image_env["MOCK_SERVER_PORT"]))
    result = _healthcheck(image_env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("healthy: vendor-sandbox")
    scenarios = requests.get(image_process.url + "/__admin/scenarios", timeout=10).json()
    assert scenarios["files"] == [image_env["MOCK_SERVER_SCENARIOS"]] and not scenarios["errors"]
    assert scenarios["scenarios"]  # the built-in magic-id rules are still there with an empty mount


def test_compose_client_command_reaches_the_sandbox(image_process: ServerProcess) -> None:
    client = COMPOSE["services"]["client"]
    command = _outside_docker(client["command"])
    env = {**os.environ, **client["environment"], "SANDBOX_URL": image_process.url}
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    listed = dict(line.split(" ", 1) for line in result.stdout.splitlines())
    assert listed["qubs"] == image_process.url + "/qubs"  # URLs name the host the client used
