"""scripts/sync-chart-assets.py: the chart's and kustomize's copies of grafana/ never drift."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from deploy_support import REPO

SCRIPT = REPO / "scripts" / "sync-chart-assets.py"


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_copies_in_the_repository_match_grafana() -> None:
    result = run("--check")
    assert result.returncode == 0, result.stderr


def scratch_copy(tmp_path: Path) -> Path:
    """A copy of the parts of the repository that the script reads and writes."""
    root = tmp_path / "repo"
    for part in (
        "grafana",
        "helm/toggl-focus-exporter/files",
        "deploy/kubernetes/components/monitoring",
    ):
        shutil.copytree(REPO / part, root / part)
    return root


def test_check_detects_every_kind_of_drift_and_sync_repairs_it(tmp_path: Path) -> None:
    root = scratch_copy(tmp_path)
    assert run("--check", "--root", str(root)).returncode == 0
    rule = sorted((root / "grafana" / "rules").glob("*.yml"))[0]
    rule.write_text(rule.read_text(encoding="utf-8") + "\n# edited\n", encoding="utf-8")
    (root / "grafana" / "rules" / "extra.yml").write_text(
        "groups:\n  - name: extra\n    rules:\n      - record: x:y:z\n        expr: vector(1)\n",
        encoding="utf-8",
    )
    stale = root / "helm/toggl-focus-exporter/files/dashboards/old.json"
    stale.write_text("{}", encoding="utf-8")
    (root / "deploy/kubernetes/components/monitoring/prometheusrule.yaml").unlink()

    check = run("--check", "--root", str(root))
    assert check.returncode == 1
    assert f"differs: helm/toggl-focus-exporter/files/rules/{rule.name}" in check.stderr
    assert "missing: helm/toggl-focus-exporter/files/rules/extra.yml" in check.stderr
    assert "stale: helm/toggl-focus-exporter/files/dashboards/old.json" in check.stderr
    assert "missing: deploy/kubernetes/components/monitoring/prometheusrule.yaml" in check.stderr

    assert run("--root", str(root)).returncode == 0
    assert run("--check", "--root", str(root)).returncode == 0
    assert not stale.exists()
    generated = (root / "deploy/kubernetes/components/monitoring/prometheusrule.yaml").read_text(
        encoding="utf-8"
    )
    assert "record: x:y:z" in generated
    assert generated.startswith("# GENERATED")


def test_rule_unit_test_files_are_not_copied(tmp_path: Path) -> None:
    root = scratch_copy(tmp_path)
    (root / "grafana" / "rules" / "not-rules.yml").write_text(
        "rule_files: [x.yml]\ntests: []\n", encoding="utf-8"
    )
    assert run("--check", "--root", str(root)).returncode == 0
