"""Admin API calls the bench makes between measurements: reset, scenario rule levels, vendor list."""

from __future__ import annotations

import json

import requests

NON_MATCHING_SCENARIO = "bench-non-matching"


class Admin:
    def __init__(self, base_url: str, session: requests.Session) -> None:
        self.base_url = base_url
        self.session = session

    def vendors(self) -> list[str]:
        """Names of the mounted vendors (``/__admin/health``), storage excluded."""
        return list(self.session.get(self.base_url + "/__admin/health", timeout=10).json().get("vendors", []))

    def reset(self) -> None:
        """Back to the start-up state (records, objects, tokens, journal, scenarios)."""
        self.session.post(self.base_url + "/__admin/reset", timeout=60).raise_for_status()

    def scenarios_available(self) -> bool:
        return self.session.get(self.base_url + "/__admin/scenarios", timeout=10).status_code == 200

    def scenario_names(self) -> list[str]:
        answer = self.session.get(self.base_url + "/__admin/scenarios", timeout=10).json()
        return [scenario["name"] for scenario in answer.get("scenarios", [])]

    def rule_count(self) -> int:
        answer = self.session.get(self.base_url + "/__admin/scenarios", timeout=10).json()
        return sum(
            len(scenario.get("rules", []))
            for scenario in answer.get("scenarios", [])
            if scenario.get("enabled")
        )

    def set_rules(self, extra_rules: int) -> int:
        """Remove every active scenario (built-in defaults too, until the next reset), then add
        ``extra_rules`` rules that match no bench request. Returns the number of active rules.

        Raises: RuntimeError when the scenario API refuses the document.
        """
        for name in self.scenario_names():
            self.session.delete(f"{self.base_url}/__admin/scenarios/{name}", timeout=10)
        if extra_rules:
            answer = self.session.post(
                self.base_url + "/__admin/scenarios",
                data=json.dumps(non_matching_document(extra_rules)),
                headers={"Content-Type": "application/json"},
                timeout=30,
            )
            if answer.status_code != 201:
                raise RuntimeError(
                    f"POST /__admin/scenarios answered {answer.status_code}: {answer.text[:300]}"
                )
        return self.rule_count()


def non_matching_document(count: int) -> dict[str, object]:
    """``count`` rules that look at what real rules look at (vendor, path parameters, headers, query,
    path) and never match a bench request, so every request is compared with all of them.
    Body matchers are left out on purpose: they make the engine buffer bodies, a separate cost.
    """
    vendors = ["qubs", "decoda", "saferme", "candid"]
    rules = []
    for i in range(count):
        kind = i % 4
        if kind == 0:
            match: dict[str, object] = {"vendor": vendors, "path_params": {"appointmentId": f"BENCH{i}"}}
        elif kind == 1:
            match = {"headers": {"X-Bench-Rule": str(i)}}
        elif kind == 2:
            match = {"query": {"bench_rule": str(i)}}
        else:
            match = {"path": f"/bench/{i}/*"}
        rules.append({"id": f"never-{i}", "match": match, "respond": 503})
    return {
        "scenarios": [
            {"name": NON_MATCHING_SCENARIO, "description": "bench: rules that never match", "rules": rules}
        ]
    }
