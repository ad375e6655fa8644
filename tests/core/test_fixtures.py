from __future__ import annotations

from pathlib import Path

import pytest

from mock_server.core.fixtures import FixtureError, load_fixtures

SCHEMAS = {
    "demo": {
        "type": "object",
        "additionalProperties": False,
        "properties": {"users": {"type": "array", "items": {"type": "object", "required": ["id"]}}},
    }
}


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_files_merge_lists_in_order(tmp_path: Path) -> None:
    write(tmp_path, "a.yaml", "demo:\n  users:\n    - id: 1\n")
    write(tmp_path, "b.yaml", "demo:\n  users:\n    - id: 2\n")
    assert load_fixtures([tmp_path], SCHEMAS) == {"demo": {"users": [{"id": 1}, {"id": 2}]}}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("demo:\n  users:\n    - name: x\n", "b.yaml:3: demo/users/0: 'id' is a required property"),
        ("nobody: {}\n", "b.yaml:1: nobody: unknown vendor (known: demo)"),
        ("demo: [\n", "b.yaml:2: (top level): not valid YAML"),
        ("- 1\n", "b.yaml: (top level): expected a mapping"),
    ],
    ids=["schema", "unknown-vendor", "yaml-syntax", "not-a-mapping"],
)
def test_broken_files_name_file_path_and_reason(tmp_path: Path, text: str, expected: str) -> None:
    path = write(tmp_path, "b.yaml", text)
    with pytest.raises(FixtureError) as caught:
        load_fixtures([path], SCHEMAS)
    assert expected in str(caught.value)


def test_missing_path_is_reported(tmp_path: Path) -> None:
    with pytest.raises(FixtureError, match="no such fixture"):
        load_fixtures([tmp_path / "absent.yaml"], SCHEMAS)
