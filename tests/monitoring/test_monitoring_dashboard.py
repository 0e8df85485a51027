"""The Grafana dashboard: loads with grafana-foundation-sdk, no hard-coded datasource, PromQL."""

from __future__ import annotations

import json
import re
from typing import Any

import promql_parser
import pytest
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.cog.plugins import register_default_plugins
from grafana_foundation_sdk.models import prometheus
from grafana_foundation_sdk.models.dashboard import Dashboard, RowPanel
from monitoring_support import (
    DASHBOARD,
    Obj,
    grafana_regex,
    load_dashboard,
    panels,
    queries,
    rules,
    substitute,
)

DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}
# Values a user could pick: multi-value variables as Grafana formats them for Prometheus.
VALUES = {
    "workspace": "(1|2)",
    "entity_type": "(user|ghost)",
    "entity": "(1001|5001)",
    "__interval": "1m",
    "__rate_interval": "4m",
    "__range": "6h",
    "__range_s": "21600",
}


@pytest.fixture(scope="module")
def dashboard() -> Obj:
    return load_dashboard()


def test_loads_with_grafana_foundation_sdk(dashboard: Obj) -> None:
    register_default_plugins()
    model = Dashboard.from_json(dashboard)
    assert model.uid == "toggl-focus-capacity"
    assert model.title
    loaded = [p for p in model.panels or [] if not isinstance(p, RowPanel)]
    assert len(loaded) == sum(1 for p in panels(dashboard) if p["type"] != "row")
    for panel in loaded:
        assert panel.targets, panel.title
        for target in panel.targets:
            # the datasource type is known, so the SDK decoded a real Prometheus query
            assert isinstance(target, prometheus.Dataquery), panel.title
            assert target.expr
    # ... and it encodes back to the same queries
    encoded = json.loads(json.dumps(model, cls=JSONEncoder))
    assert [q.expr for q in queries(encoded)] == [q.expr for q in queries(dashboard)]


def test_stable_uid_and_importable_shape(dashboard: Obj) -> None:
    assert dashboard["uid"] == "toggl-focus-capacity"
    assert dashboard.get("id") is None
    assert dashboard["schemaVersion"] >= 36  # Grafana 9.x+; 10 and 11 migrate it on import
    assert "__inputs" not in dashboard, "import must not ask for a datasource: use the variable"
    ids = [p["id"] for p in panels(dashboard)]
    assert len(ids) == len(set(ids))


def _datasource_refs(node: Any, path: str = "") -> list[tuple[str, Any]]:
    found: list[tuple[str, Any]] = []
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "datasource":
                found.append((path, value))
            found += _datasource_refs(value, f"{path}.{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            found += _datasource_refs(value, f"{path}[{i}]")
    return found


def test_no_hard_coded_datasource(dashboard: Obj) -> None:
    refs = _datasource_refs(dashboard)
    assert refs
    for path, ref in refs:
        assert ref == DATASOURCE, f"{path}: {ref!r}"
    text = DASHBOARD.read_text(encoding="utf-8")
    assert "${DS_" not in text


def test_datasource_and_filter_variables(dashboard: Obj) -> None:
    variables = {v["name"]: v for v in dashboard["templating"]["list"]}
    assert list(variables) == ["datasource", "workspace", "entity_type", "entity"]
    assert variables["datasource"]["type"] == "datasource"
    assert variables["datasource"]["query"] == "prometheus"
    for name in ("workspace", "entity_type", "entity"):
        variable = variables[name]
        assert variable["type"] == "query"
        assert variable["datasource"] == DATASOURCE
        assert variable["multi"], name
        assert variable["includeAll"], name


def test_entity_variable_shows_names_and_filters_by_id(dashboard: Obj) -> None:
    entity = next(v for v in dashboard["templating"]["list"] if v["name"] == "entity")
    assert "toggl_focus:entity_display_name:info" in entity["query"]["query"]
    # one line of Grafana's query_result() output (labels sorted, as Prometheus returns them)
    line = (
        'toggl_focus:entity_display_name:info{entity_id="1001", entity_type="user", '
        'name="Ada Lovelace", workspace_id="1"} 1 1700000000000'
    )
    match = grafana_regex(entity["regex"]).search(line)
    assert match
    assert match.group("value") == "1001"
    assert match.group("text") == "Ada Lovelace"


def test_every_panel_has_a_description(dashboard: Obj) -> None:
    for panel in panels(dashboard):
        if panel["type"] != "row":
            assert len(panel.get("description", "")) > 20, panel["title"]


def test_required_panels_exist(dashboard: Obj) -> None:
    titles = " | ".join(p["title"] for p in panels(dashboard)).lower()
    for words in (
        "overbooked today",
        "next 7 days",
        "next 28 days",
        "utilisation this week",
        "utilisation by entity and date",
        "capacity by date",
        "overbooked entity-days",
        "scrape up",
        "age of last successful refresh",
        "api requests by code",
        "quota remaining",
    ):
        assert words in titles, words


def test_most_panels_are_instant_queries(dashboard: Obj) -> None:
    found = queries(dashboard)
    instant = [q for q in found if q.instant]
    assert len(instant) > len(found) / 2


def test_every_query_parses_with_variables_substituted(dashboard: Obj) -> None:
    found = queries(dashboard)
    assert len(found) > 10
    for query in found:
        expr = substitute(query.expr, VALUES)
        assert "$" not in expr, query.where
        try:
            promql_parser.parse(expr)
        except ValueError as exc:
            pytest.fail(f"{query.where}: {exc}\n{expr}")


def test_substitution_knows_every_variable_form() -> None:
    values = {"a": "x", "b": "y"}
    assert substitute('m{l=~"$a",k=~"${b}",j=~"${a:regex}",i=~"[[b]]"}', values) == (
        'm{l=~"x",k=~"y",j=~"x",i=~"y"}'
    )
    with pytest.raises(KeyError):
        substitute("$unknown", values)


def test_queries_filter_by_the_variables_and_never_by_job(dashboard: Obj) -> None:
    for query in queries(dashboard):
        assert not re.search(r"\b(job|instance)\s*(=|!=|=~|!~)\s*\"", query.expr), query.where
        if re.search(r"toggl_focus(:|_capacity_)", query.expr) and "variable" not in query.where:
            assert "$workspace" in query.expr, query.where


def test_recorded_series_used_by_the_dashboard_exist(dashboard: Obj) -> None:
    recorded = {r["record"] for r in rules("record")}
    for query in queries(dashboard):
        for name in re.findall(r"toggl_focus:[a-z0-9_:]+", query.expr):
            assert name in recorded, f"{query.where}: {name} is not a recording rule"
