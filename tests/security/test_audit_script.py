"""scripts/audit.sh: which dependencies it audits and how it reads pip-audit's verdict.

A stand-in ``pip_audit`` module (first on PYTHONPATH) records the requirements it is given
and answers as a service would: vulnerable, clean, every package unknown, or unreachable.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from support import REPO

FAKE = """
import json, os, shutil, sys
args = sys.argv[1:]
service = args[args.index("--vulnerability-service") + 1]
out = args[args.index("-o") + 1]
requirements = args[args.index("-r") + 1]
shutil.copy(requirements, os.environ["FAKE_AUDIT_SEEN"])
mode = os.environ["FAKE_AUDIT_" + service.upper()]
names = [line.split("==") for line in open(requirements).read().split()]
if mode == "down":
    sys.exit("ConnectionError: cannot reach the service")
deps = []
for name, version in names:
    if mode == "unknown":
        deps.append({"name": name, "skip_reason": f"Dependency not found: {name} ({version})"})
        continue
    vulns = []
    if mode == "vulnerable" and name == "aiohttp":
        vulns = [{"id": "GHSA-test-0001", "fix_versions": ["99.0"], "aliases": []}]
    deps.append({"name": name, "version": version, "vulns": vulns})
json.dump({"dependencies": deps, "fixes": []}, open(out, "w"))
sys.exit(1 if any(d.get("vulns") for d in deps) else 0)
"""


@pytest.fixture
def fake(tmp_path: Path) -> Path:
    package = tmp_path / "fake" / "pip_audit"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "__main__.py").write_text(FAKE)
    return tmp_path


def audit(fake: Path, **modes: str) -> tuple[subprocess.CompletedProcess[str], list[str]]:
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "AUDIT_REQUIRED")}
    env.update(
        PYTHON=sys.executable,
        PYTHONPATH=os.pathsep.join([str(fake / "fake"), str(REPO)]),
        FAKE_AUDIT_SEEN=str(fake / "seen.txt"),
        **{f"FAKE_AUDIT_{k.upper()}": v for k, v in modes.items() if k in ("pypi", "osv")},
        **{k: v for k, v in modes.items() if k not in ("pypi", "osv")},
    )
    result = subprocess.run(
        ["bash", str(REPO / "scripts" / "audit.sh")],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    seen = (fake / "seen.txt").read_text().split() if (fake / "seen.txt").exists() else []
    return result, seen


def test_runtime_closure_only(fake: Path) -> None:
    result, seen = audit(fake, pypi="clean", osv="clean")
    assert result.returncode == 0, result.stdout + result.stderr
    names = {line.split("==")[0] for line in seen}
    assert {"aiohttp", "bcrypt", "httpx", "pydantic", "pyyaml", "prometheus-client"} <= names
    assert not names & {"pytest", "hypothesis", "mypy", "ruff", "pip-audit", "cryptography"}
    assert all("==" in line for line in seen)
    assert "0 known vulnerabilit(y/ies)" in result.stdout


def test_vulnerability_fails(fake: Path) -> None:
    result, _ = audit(fake, pypi="vulnerable", osv="clean")
    assert result.returncode == 1
    assert "VULNERABLE aiohttp" in result.stdout
    assert "GHSA-test-0001 (fixed in 99.0)" in result.stdout


def test_unknown_everywhere_is_a_skip_not_a_pass(fake: Path) -> None:
    result, _ = audit(fake, pypi="unknown", osv="down")
    assert result.returncode == 0
    assert "pip-audit SKIPPED" in result.stdout
    assert "0 known vulnerabilit" not in result.stdout


def test_falls_back_to_the_next_service(fake: Path) -> None:
    result, _ = audit(fake, pypi="down", osv="vulnerable")
    assert result.returncode == 1
    assert "pypi: service unreachable" in result.stdout


def test_skip_in_ci_warns_and_can_be_required(fake: Path) -> None:
    result, _ = audit(fake, pypi="down", osv="down", CI="true")
    assert result.returncode == 0
    assert "::warning title=dependency audit skipped::" in result.stdout
    required, _ = audit(fake, pypi="down", osv="down", AUDIT_REQUIRED="1")
    assert required.returncode == 2
