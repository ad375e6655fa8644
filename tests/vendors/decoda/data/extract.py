"""Make ``decoda-openapi-extract.yaml``: the paths the sandbox serves, from Decoda's published OpenAPI.

Usage (from the repository root, with a checkout of github.com/decoda-health/docs)::

    .venv/bin/python tests/vendors/decoda/data/extract.py <docs checkout>/openapi.yaml <commit> <commit date>

Keeps every operation of those paths and the component schemas they reference (transitively), verbatim.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

OUT = Path(__file__).with_name("decoda-openapi-extract.yaml")
OURS = Path(__file__).resolve().parents[4] / "mock_server" / "vendors" / "decoda" / "openapi.yaml"


def refs(node: Any) -> set[str]:
    found: set[str] = set()
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/components/schemas/"):
            found.add(ref.rsplit("/", 1)[1])
        for value in node.values():
            found |= refs(value)
    elif isinstance(node, list):
        for value in node:
            found |= refs(value)
    return found


def main(source: str, commit: str, committed: str) -> None:
    theirs = yaml.safe_load(Path(source).read_text(encoding="utf-8"))
    served = [
        path for path in yaml.safe_load(OURS.read_text(encoding="utf-8"))["paths"] if path in theirs["paths"]
    ]
    paths = {path: theirs["paths"][path] for path in served}
    schemas = theirs["components"]["schemas"]
    wanted, todo = set(), refs(paths)
    while todo:
        name = todo.pop()
        if name not in wanted:
            wanted.add(name)
            todo |= refs(schemas[name]) - wanted
    extract = {
        "openapi": theirs["openapi"],
        "info": theirs["info"],
        "paths": paths,
        "components": {"schemas": {name: schemas[name] for name in sorted(wanted)}},
    }
    header = (
        "# Extract of Decoda's published OpenAPI: github.com/decoda-health/docs, openapi.yaml,\n"
        f"# commit {commit} ({committed}); extracted {datetime.now(UTC):%Y-%m-%d} by extract.py.\n"
        "# Only the paths vendor-sandbox serves and the schemas they reference, verbatim.\n"
    )
    OUT.write_text(
        header + yaml.safe_dump(extract, sort_keys=False, allow_unicode=True, width=110), encoding="utf-8"
    )


if __name__ == "__main__":
    main(*sys.argv[1:4])
