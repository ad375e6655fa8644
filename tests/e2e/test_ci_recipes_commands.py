"""The CI recipes (docs/ci/*.yml, pasted in the README) run as far as they can without docker.

The service container is the image's ENTRYPOINT + CMD with the image's and the recipe's environment,
as a local process; its health command runs as written; then every job command runs as written,
from a project holding the documented example test (docs/examples/) as ``tests/integration``, with
the service's host name and port pointing at the local process. Install steps are the only ones
skipped (no network here); vendor-sandbox is "installed" by putting the checkout on PYTHONPATH next
to a dist-info carrying pyproject's pytest11 entry point, as pip would.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import socket
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import yaml

from mock_server.testing.process import ServerProcess

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "docs" / "examples" / "test_integration_example.py"
GITHUB = yaml.safe_load((ROOT / "docs" / "ci" / "github-actions.yml").read_text(encoding="utf-8"))
GITLAB = yaml.safe_load((ROOT / "docs" / "ci" / "gitlab-ci.yml").read_text(encoding="utf-8"))
DOCKERFILE = (ROOT / "Dockerfile").read_text(encoding="utf-8").replace("\\\n", " ")


def _instruction(keyword: str) -> str:
    return re.findall(rf"^{keyword} (.+)$", DOCKERFILE, re.MULTILINE)[-1]


def image_command() -> list[str]:
    return json.loads(_instruction("ENTRYPOINT")) + json.loads(_instruction("CMD"))


def image_env() -> dict[str, str]:
    env: dict[str, str] = {}
    for line in re.findall(r"^ENV (.+)$", DOCKERFILE, re.MULTILINE):
        env.update(pair.split("=", 1) for pair in shlex.split(line))
    return env


def _python(command: list[str]) -> list[str]:
    return [sys.executable, *command[1:]] if command[0] == "python" else command


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """An integrator's checkout: the documented example as its integration tests."""
    tests = tmp_path / "project" / "tests" / "integration"
    tests.mkdir(parents=True)
    shutil.copy(EXAMPLE, tests / "test_qubs_reports.py")
    return tmp_path / "project"


@pytest.fixture
def installed_env(tmp_path: Path) -> dict[str, str]:
    """os.environ as after ``pip install vendor-sandbox``: importable, pytest11 entry point registered."""
    entry_points = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"][
        "entry-points"
    ]
    dist_info = tmp_path / "site" / "vendor_sandbox-0.1.0.dist-info"
    dist_info.mkdir(parents=True)
    (dist_info / "METADATA").write_text("Metadata-Version: 2.1\nName: vendor-sandbox\nVersion: 0.1.0\n")
    lines = ["[pytest11]", *(f"{name} = {target}" for name, target in entry_points["pytest11"].items())]
    (dist_info / "entry_points.txt").write_text("\n".join(lines) + "\n")
    path = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    base = {k: v for k, v in os.environ.items() if not k.startswith(("MOCK_SERVER_", "PYTEST_"))}
    # PYTEST_ADDOPTS: plugins of this machine's environment that an integrator's project would not have.
    return {
        **base,
        "PATH": path,
        "PYTHONPATH": os.pathsep.join([str(tmp_path / "site"), str(ROOT)]),
        "PYTEST_ADDOPTS": "-p no:schemathesis -p no:hypothesispytest -p no:anyio",
    }


@contextmanager
def service_container(workdir: Path, recipe_env: dict[str, str]) -> Iterator[ServerProcess]:
    """The recipe's service container as a local process: the image's command and environment plus
    the recipe's variables; the port is a free one (``8080:8080`` maps it to the same number)."""
    (workdir / "scenarios").mkdir(parents=True)
    env = {name: value.replace("/app", str(workdir)) for name, value in image_env().items()}
    env.update(recipe_env, MOCK_SERVER_PORT=str(_free_port()), PYTHONPATH=str(ROOT))
    with ServerProcess(command=_python(image_command()), env=env, cwd=workdir) as process:
        yield process
        assert process.stop() == 0


def run_step(command: str, env: dict[str, str], cwd: Path) -> None:
    result = subprocess.run(
        ["bash", "-e", "-c", command], env=env, cwd=cwd, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, f"{command}\n{result.stdout}\n{result.stderr}"


def test_github_actions_recipe(tmp_path: Path, project: Path, installed_env: dict[str, str]) -> None:
    job = GITHUB["jobs"]["integration"]
    container = job["services"]["vendor-sandbox"]
    assert [str(port).split(":")[-1] for port in container["ports"]] == [_instruction("EXPOSE")]
    options = dict(re.findall(r'--(health-[a-z-]+) ("[^"]+"|\S+)', container["options"]))
    assert {"health-cmd", "health-interval", "health-timeout", "health-retries"} <= set(options)
    health_cmd = shlex.split(options["health-cmd"].strip('"'))
    assert health_cmd == json.loads(_instruction("HEALTHCHECK").split("CMD", 1)[1])

    with service_container(tmp_path / "app", container.get("env", {})) as process:
        # The runner waits for the health command (run inside the container) before any step.
        inside = {**installed_env, **process.env}
        subprocess.run(_python(health_cmd), env=inside, check=True, capture_output=True, timeout=30)
        env = {
            **installed_env,
            **{k: re.sub(r":8080\b", f":{process.port}", v) for k, v in job["env"].items()},
        }
        ran = []
        for step in job["steps"]:
            if "uses" in step:
                continue
            if "pip install" in step["run"]:
                assert step["name"].startswith("Install"), step
                continue
            if step["run"].startswith("curl") and shutil.which("curl") is None:
                continue
            run_step(step["run"], env, project)
            ran.append(step["run"])
    assert any("pytest" in command for command in ran)


def test_gitlab_ci_recipe(tmp_path: Path, project: Path, installed_env: dict[str, str]) -> None:
    job = GITLAB["integration"]
    [container] = job["services"]
    assert all("pip install" in line for line in job["before_script"])
    assert job["variables"]["VENDOR_SANDBOX_URL"] == f"http://{container['alias']}:{_instruction('EXPOSE')}"
    assert any("mock_server.healthcheck" in line for line in job["script"])
    assert any("pytest" in line for line in job["script"])

    with service_container(tmp_path / "app", container.get("variables", {})) as process:
        # The alias resolves to the service container; here that is the local process.
        env = {**installed_env, **job["variables"], "VENDOR_SANDBOX_URL": process.url}
        for line in job["script"]:
            run_step(line, env, project)
