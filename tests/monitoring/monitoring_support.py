"""Helpers of the monitoring tests: the shipped files, their rules and dashboard queries."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[2]
GRAFANA = REPO / "grafana"
RULES_DIR = GRAFANA / "rules"
RULE_FILES = sorted(RULES_DIR.glob("*.yml"))
RULE_TESTS = sorted((RULES_DIR / "tests").glob("*.yml"))
DASHBOARD = GRAFANA / "dashboards" / "toggl-focus-capacity.json"
ALERTMANAGER_CONFIG = GRAFANA / "alertmanager" / "alertmanager.yml"
PROMETHEUS_CONFIG = GRAFANA / "prometheus" / "prometheus.yml"
DOCS = REPO / "docs" / "monitoring.md"

Obj = dict[str, Any]


def load_yaml(path: Path) -> Any:
    """One YAML document."""
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def rules(kind: str | None = None) -> list[Obj]:
    """Every rule of the shipped rule files (``kind``: "record", "alert" or None for both)."""
    found = [
        rule
        for path in RULE_FILES
        for group in load_yaml(path)["groups"]
        for rule in group["rules"]
        if kind is None or kind in rule
    ]
    return found


def load_dashboard() -> Obj:
    """The shipped dashboard as JSON."""
    data: Obj = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    return data


def panels(dashboard: Obj) -> Iterator[Obj]:
    """Every panel, rows and the panels nested in collapsed rows included."""
    for panel in dashboard.get("panels", []):
        yield panel
        yield from panel.get("panels", [])


@dataclass(frozen=True)
class Query:
    """One PromQL expression of the dashboard: a panel target or a variable's query."""

    where: str
    expr: str
    instant: bool


# label_values(expr, label) / query_result(expr): the PromQL part of a variable query.
_VARIABLE_QUERY = re.compile(r"^\s*(?:label_values|query_result)\((.*?)(?:,\s*\w+)?\)\s*$", re.S)


def queries(dashboard: Obj) -> list[Query]:
    """All PromQL expressions of the dashboard (panel targets and variable queries)."""
    found: list[Query] = []
    for panel in panels(dashboard):
        for target in panel.get("targets", []):
            where = f"panel {panel['title']!r} target {target['refId']}"
            found.append(Query(where, target["expr"], bool(target.get("instant"))))
    for variable in dashboard["templating"]["list"]:
        if variable["type"] != "query":
            continue
        query = variable["query"]
        text = query["query"] if isinstance(query, dict) else query
        match = _VARIABLE_QUERY.match(text)
        assert match, f"variable {variable['name']}: unexpected query {text!r}"
        found.append(Query(f"variable {variable['name']!r}", match.group(1), True))
    return found


# $var, ${var}, ${var:format}, [[var]], [[var:format]]
_VARIABLE = re.compile(
    r"\$\{(?P<braced>\w+)(?::\w+)?\}|\[\[(?P<bracket>\w+)(?::\w+)?\]\]|\$(?P<plain>\w+)"
)


def substitute(expr: str, values: Mapping[str, str]) -> str:
    """``expr`` with Grafana's variables replaced; an unknown variable raises KeyError."""

    def value(match: re.Match[str]) -> str:
        name = match.group("braced") or match.group("bracket") or match.group("plain")
        return values[name]

    return _VARIABLE.sub(value, expr)


def grafana_regex(regex: str) -> re.Pattern[str]:
    """A Grafana variable regex (``/.../``, JavaScript named groups) as a Python pattern."""
    assert regex.startswith("/"), regex
    assert regex.endswith("/"), regex
    return re.compile(regex[1:-1].replace("(?<", "(?P<"))
