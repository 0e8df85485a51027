"""The benchmark's subprocesses: simulator, exporter under test, common-pattern server."""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Self

#: The directory the children run in (the checkout, or site-packages when installed).
REPO = Path(__file__).resolve().parent.parent.parent


def peak_rss_of(pid: int) -> int:
    """Peak resident set size (``VmHWM``) of a running process in bytes; 0 if unknown."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return 0


def terminate(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM, then SIGKILL after 10 s; always reaped."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


class Stoppable:
    """A context manager for what has a ``stop()``: ``with`` gives it, leaving stops it."""

    def stop(self) -> None:
        """Stop it; safe to call more than once."""
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


class Process(Stoppable):
    """A Python module run as a child with line-based stdout; stderr goes to a log file."""

    def __init__(
        self,
        module: str,
        args: Sequence[str],
        env: Mapping[str, str],
        log: Path,
        quits_on_eof: bool = False,
        niceness: int = 0,
    ) -> None:
        self.name = module
        self.log = log
        self._log_file = log.open("wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", module, *args],
            env=dict(env),
            cwd=REPO,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._log_file,
            preexec_fn=(lambda: os.nice(niceness)) if niceness else None,
        )
        self._quits_on_eof = quits_on_eof
        self._lines: queue.Queue[str] = queue.Queue()
        self._pending: str | None = None
        threading.Thread(target=self._read, name=f"{module}-stdout", daemon=True).start()

    def _read(self) -> None:
        stdout = self.proc.stdout
        assert stdout is not None
        for raw in stdout:
            self._lines.put(raw.decode())
        self._lines.put("")

    @property
    def pid(self) -> int:
        """The child's process id."""
        return self.proc.pid

    def readline(self, timeout: float) -> str:
        """The next stdout line; fails if the child exits or stays silent too long."""
        line, self._pending = self._pending, None
        try:
            if line is None:
                line = self._lines.get(timeout=timeout)
        except queue.Empty:
            raise RuntimeError(f"{self.describe()} gave no answer; log:\n{self.tail()}") from None
        if not line:
            self._pending = ""
            raise RuntimeError(f"{self.describe()} exited; log:\n{self.tail()}")
        return line

    def line_ready(self, timeout: float = 0.0) -> bool:
        """Whether a stdout line arrived (waits up to ``timeout`` seconds, reads nothing)."""
        if self._pending is None:
            try:
                if timeout > 0:
                    self._pending = self._lines.get(timeout=timeout)
                else:
                    self._pending = self._lines.get_nowait()
            except queue.Empty:
                return False
        return True

    def send(self, message: Mapping[str, object]) -> None:
        """One JSON line on the child's stdin."""
        stdin = self.proc.stdin
        assert stdin is not None
        stdin.write((json.dumps(message) + "\n").encode())
        stdin.flush()

    def request(self, message: Mapping[str, object], timeout: float) -> dict[str, Any]:
        """Send a command and wait for its JSON answer."""
        self.send(message)
        return self.answer(timeout)

    def answer(self, timeout: float) -> dict[str, Any]:
        """The next JSON line; raises if it reports an error."""
        reply = json.loads(self.readline(timeout))
        if not isinstance(reply, dict):
            raise RuntimeError(f"{self.describe()}: unexpected answer {reply!r}")
        if "error" in reply:
            raise RuntimeError(f"{self.describe()}: {reply['error']}; log:\n{self.tail()}")
        return reply

    def describe(self) -> str:
        """The child's module and process id, for error messages."""
        return f"{self.name} (pid {self.proc.pid})"

    def tail(self, lines: int = 30) -> str:
        """The last lines of the child's log."""
        self._log_file.flush()
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])

    def stop(self) -> None:
        """Terminate and reap the child."""
        stdin = self.proc.stdin
        if self.proc.poll() is None and self._quits_on_eof and stdin and not stdin.closed:
            try:
                stdin.close()  # EOF: the child's own clean exit
                self.proc.wait(5)
            except (OSError, subprocess.TimeoutExpired):
                pass
        terminate(self.proc)
        for stream in (self.proc.stdin, self.proc.stdout):
            if stream is not None:
                stream.close()
        self._log_file.close()
