"""A small typed client for the admin API, for integrators' tests and scripts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import requests


class AdminClient:
    def __init__(self, base_url: str, session: requests.Session | None = None, timeout: float = 10) -> None:
        self.base_url = base_url.rstrip("/")
        self.session = session or requests.Session()
        self.timeout = timeout

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self.session.request(method, f"{self.base_url}/__admin{path}", timeout=self.timeout, **kwargs)
        response.raise_for_status()
        return response.json() if response.content else None

    def health(self) -> dict[str, Any]:
        return self._call("GET", "/health")

    def reset(self) -> None:
        self._call("POST", "/reset")

    def clock(self) -> dict[str, Any]:
        return self._call("GET", "/clock")

    def advance(self, seconds: float) -> dict[str, Any]:
        return self._call("POST", "/clock", json={"advance": seconds})

    def set_time(self, instant: str) -> dict[str, Any]:
        return self._call("POST", "/clock", json={"set": instant})

    def freeze(self, instant: str | None = None) -> dict[str, Any]:
        return self._call("POST", "/clock", json={"freeze": instant or True})

    def unfreeze(self) -> dict[str, Any]:
        return self._call("POST", "/clock", json={"unfreeze": True})

    def requests(self, **filters: Any) -> list[dict[str, Any]]:
        params = {("correlationId" if k == "correlation_id" else k): v for k, v in filters.items()}
        return self._call("GET", "/requests", params=params)["requests"]

    def objects(self, bucket: str | None = None, prefix: str = "") -> list[dict[str, Any]]:
        params = {"prefix": prefix, **({"bucket": bucket} if bucket else {})}
        return self._call("GET", "/objects", params=params)["objects"]

    def object_bytes(self, bucket: str, key: str) -> bytes:
        response = self.session.get(f"{self.base_url}/__admin/objects/{bucket}/{key}", timeout=self.timeout)
        response.raise_for_status()
        return response.content

    def load_scenario(self, path: str | Path) -> dict[str, Any]:
        text = Path(path).read_text(encoding="utf-8")
        return self._call("POST", "/scenarios", data=text.encode("utf-8"),
                          headers={"Content-Type": "application/yaml"})

    def clear_scenarios(self) -> None:
        self._call("DELETE", "/scenarios")
