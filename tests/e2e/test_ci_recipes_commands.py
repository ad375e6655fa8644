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
RELEASE = yaml.safe_load((ROOT / "docs" / "ci" / "github-release.yml").read_text(encoding="utf-8"))
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
            if "uses" in step or step.get("if") == "failure()":
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
    # The plugin comes from the repository at the image's tag: same version, no package index.
    tag = container["name"].rsplit(":", 1)[1]
    assert all(f'.git@v{tag}"' in line for line in job["before_script"])
    assert job["variables"]["VENDOR_SANDBOX_URL"] == f"http://{container['alias']}:{_instruction('EXPOSE')}"
    assert any("mock_server.healthcheck" in line for line in job["script"])
    assert any("pytest" in line for line in job["script"])

    with service_container(tmp_path / "app", container.get("variables", {})) as process:
        # The alias resolves to the service container; here that is the local process.
        env = {**installed_env, **job["variables"], "VENDOR_SANDBOX_URL": process.url}
        for line in job["script"]:
            run_step(line, env, project)
        if shutil.which("curl") is not None:
            for line in job["after_script"]:
                run_step(line, env, project)
            journal = json.loads((project / "vendor-sandbox-journal.json").read_text(encoding="utf-8"))
            # every test ran in a session of its own (kept only when it failed): the default one saw none
            assert journal["requests"] == [], "the journal artifact is the default session's journal"
    assert job["artifacts"]["when"] == "on_failure"
    assert job["artifacts"]["paths"] == ["vendor-sandbox-journal.json"]
    assert job["variables"]["CI_DEBUG_SERVICES"] == "true"  # the service log goes into the job log


WHEEL_DIR = "/opt/vendor-sandbox/dist"


def test_the_image_carries_its_wheel_where_the_recipes_copy_it_from() -> None:
    install = " ".join(re.findall(r"^RUN (.+)$", DOCKERFILE, re.MULTILINE))
    assert f"cp /wheels/vendor_sandbox-*.whl {WHEEL_DIR}/" in install
    step = next(s for s in GITHUB["jobs"]["integration"]["steps"] if "pip install" in s.get("run", ""))
    job_env = GITHUB["jobs"]["integration"]["env"]
    assert (
        job_env["VENDOR_SANDBOX_IMAGE"]
        == GITHUB["jobs"]["integration"]["services"]["vendor-sandbox"]["image"]
    )
    assert 'docker create --name vendor-sandbox-dist "$VENDOR_SANDBOX_IMAGE"' in step["run"]
    assert f"docker cp vendor-sandbox-dist:{WHEEL_DIR}/. vendor-sandbox-dist/" in step["run"]
    assert "pip install vendor-sandbox-dist/vendor_sandbox-*.whl" in step["run"]


def test_github_recipe_keeps_the_sandbox_log_and_journal_on_failure() -> None:
    steps = [s for s in GITHUB["jobs"]["integration"]["steps"] if s.get("if") == "failure()"]
    collect, upload = steps
    assert "docker logs" in collect["run"] and "> vendor-sandbox.log" in collect["run"]
    assert '"$VENDOR_SANDBOX_URL/__admin/requests" > vendor-sandbox-journal.json' in collect["run"]
    assert upload["uses"].startswith("actions/upload-artifact@")
    assert upload["with"]["path"].split() == ["vendor-sandbox.log", "vendor-sandbox-journal.json"]


def test_release_workflow_publishes_the_image_and_its_wheel_on_a_tag() -> None:
    assert RELEASE[True]["push"]["tags"] == ["v*"]  # YAML 1.1 reads the key `on` as true
    job = RELEASE["jobs"]["publish"]
    runs = "\n".join(step.get("run", "") for step in job["steps"])
    assert 'docker build -t "$IMAGE" .' in runs and 'docker push "$IMAGE"' in runs
    assert f"docker cp vendor-sandbox-dist:{WHEEL_DIR}/. dist/" in runs
    assert 'gh release create "${{ github.ref_name }}" dist/vendor_sandbox-*.whl' in runs
    assert job["env"]["IMAGE"].endswith(":${{ github.ref_name }}")
    # The tag must be the package version, so image, wheel and tag agree.
    version = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["version"]
    check = next(step["run"] for step in job["steps"] if step.get("name", "").startswith("Check the tag"))
    project = subprocess.run(
        ["bash", "-c", check.replace("${{ github.ref_name }}", f"v{version}")], cwd=ROOT, timeout=30
    )
    assert project.returncode == 0
