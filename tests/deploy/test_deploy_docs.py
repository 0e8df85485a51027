"""docs/deploy.md keeps up with the chart: every documented value is in its table."""

from __future__ import annotations

import re

from deploy_support import CHART, REPO, load_yaml

DOCS = REPO / "docs" / "deploy.md"


def documented_value_paths() -> list[str]:
    """Dotted paths of the values.yaml keys that carry a `# --` description comment."""
    paths: list[str] = []
    stack: list[tuple[int, str]] = []
    described = False
    for line in (CHART / "values.yaml").read_text(encoding="utf-8").splitlines():
        stripped = line.strip()
        if stripped.startswith("#"):
            described = described or stripped.lstrip("#").strip().startswith("--")
            continue
        match = re.match(r"^(\s*)([A-Za-z_][A-Za-z0-9_]*):", line)
        if not match:
            described = False
            continue
        indent = len(match.group(1))
        while stack and stack[-1][0] >= indent:
            stack.pop()
        stack.append((indent, match.group(2)))
        if described:
            paths.append(".".join(key for _, key in stack))
        described = False
    return paths


def test_every_top_level_value_is_described() -> None:
    paths = documented_value_paths()
    for key in load_yaml(CHART / "values.yaml"):
        assert any(p == key or p.startswith(f"{key}.") for p in paths), key


def test_values_table_lists_every_described_value() -> None:
    text = DOCS.read_text(encoding="utf-8")
    table = {m.group(1) for m in re.finditer(r"^\| `([^`]+)` \|", text, re.MULTILINE)}
    paths = documented_value_paths()
    assert len(paths) > 50
    missing = [p for p in paths if p not in table]
    assert missing == []


def test_files_the_docs_name_exist() -> None:
    text = DOCS.read_text(encoding="utf-8")
    for path in sorted(set(re.findall(r"`((?:deploy|helm|grafana|scripts)/[^`\s]*)`", text))):
        if "mine" in path:
            continue
        assert list(REPO.glob(path.rstrip("/"))), path
