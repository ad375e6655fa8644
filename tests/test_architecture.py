"""The design's layering rules, checked on the import graph so a broken rule fails CI."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "mock_server"

# layer -> layers it may import (besides itself and the top-level helpers settings/__init__)
ALLOWED = {
    "core": {"core"},
    "storage": {"core", "storage"},
    "scenarios": {"core", "storage", "scenarios"},
    "vendors": {"core", "storage", "vendors"},  # its own package only: see test_vendors_are_islands
    "admin": {"core", "storage", "scenarios", "admin"},
    "testing": {"core", "storage", "scenarios", "admin", "testing", "app", "cli", "transport"},
}
TOP_LEVEL_FREE = {"settings", "__init__"}


def _modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def _runtime_imports(tree: ast.Module) -> list[str]:
    """Imports outside ``if TYPE_CHECKING:`` blocks."""
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and getattr(node.test, "id", None) == "TYPE_CHECKING":
            node.body = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
    return [name for name in names if name.startswith("mock_server")]


def _layer(path: Path) -> str:
    relative = path.relative_to(PACKAGE)
    return relative.parts[0] if len(relative.parts) > 1 else relative.stem


@pytest.mark.parametrize("module", _modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_layers_import_only_lower_layers(module: Path) -> None:
    layer = _layer(module)
    allowed = ALLOWED.get(layer)
    if allowed is None:
        return  # app.py, middleware.py, cli.py, boundary.py sit on top and may import anything
    for name in _runtime_imports(ast.parse(module.read_text(encoding="utf-8"))):
        parts = name.split(".")
        target = parts[1] if len(parts) > 1 else "__init__"
        if target in TOP_LEVEL_FREE:
            continue
        assert target in allowed, f"{module.relative_to(PACKAGE)} ({layer}) imports {name}"


@pytest.mark.parametrize(
    "module", [p for p in _modules() if "vendors" in p.parts], ids=lambda p: str(p.relative_to(PACKAGE))
)
def test_vendors_are_islands(module: Path) -> None:
    own = module.relative_to(PACKAGE).parts[1]
    for name in _runtime_imports(ast.parse(module.read_text(encoding="utf-8"))):
        parts = name.split(".")
        if len(parts) > 2 and parts[1] == "vendors":
            assert parts[2] == own, f"{module.relative_to(PACKAGE)} imports {name}"


CLOCK_CALLS = re.compile(r"\btime\.time\(|\bdatetime\.now\(|\butcnow\(|\btime\.monotonic\(|\bdate\.today\(")


@pytest.mark.parametrize("module", _modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_only_the_clock_reads_the_time(module: Path) -> None:
    if module == PACKAGE / "core" / "clock.py":
        return
    found = CLOCK_CALLS.findall(module.read_text(encoding="utf-8"))
    assert not found, f"{module.relative_to(PACKAGE)} reads the time directly: {found}"


@pytest.mark.parametrize("module", _modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_modules_stay_small(module: Path) -> None:
    lines = module.read_text(encoding="utf-8").count("\n")
    assert lines <= 400, f"{module.relative_to(PACKAGE)} has {lines} lines; split it by noun"
