"""The physical floor: nginx serving the same bytes from files on loopback.

``/metrics`` is the plain body; with ``gzip_static`` nginx sends ``metrics.gz`` to clients
that accept gzip, as the exporter does. nginx runs in the foreground, one process, with
a private prefix, so it needs no root and touches no system configuration.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from pathlib import Path

from .procs import Stoppable, peak_rss_of, terminate

CONFIG = """\
daemon off;
master_process off;
worker_processes 1;
pid {root}/nginx.pid;
error_log {root}/error.log warn;
events {{ worker_connections 64; }}
http {{
    access_log off;
    sendfile on;
    tcp_nopush on;
    keepalive_requests 100000;
    client_body_temp_path {root}/tmp;
    proxy_temp_path {root}/tmp;
    fastcgi_temp_path {root}/tmp;
    uwsgi_temp_path {root}/tmp;
    scgi_temp_path {root}/tmp;
    types {{ }}
    default_type "text/plain; version=0.0.4; charset=utf-8";
    server {{
        listen 127.0.0.1:{port};
        root {root}/www;
        location = /metrics {{ gzip_static on; }}
    }}
}}
"""


def find_nginx() -> str | None:
    """The nginx binary (Debian ``nginx-light`` installs /usr/sbin/nginx)."""
    return shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin:/usr/local/sbin")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class StaticServer(Stoppable):
    """nginx serving ``plain`` (and ``compressed`` to gzip clients) at ``/metrics``."""

    def __init__(self, binary: str, workdir: Path, plain: bytes, compressed: bytes) -> None:
        self.root = workdir / "nginx"
        (self.root / "www").mkdir(parents=True, exist_ok=True)
        (self.root / "tmp").mkdir(exist_ok=True)
        (self.root / "www" / "metrics").write_bytes(plain)
        (self.root / "www" / "metrics.gz").write_bytes(compressed)
        self.port = _free_port()
        config = self.root / "nginx.conf"
        config.write_text(CONFIG.format(root=self.root, port=self.port))
        self._log = (self.root / "stderr.log").open("wb")
        self.proc = subprocess.Popen(
            [binary, "-c", str(config), "-p", str(self.root), "-e", str(self.root / "error.log")],
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        self._wait_listening(10.0)

    def _wait_listening(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                log = (self.root / "error.log").read_text(errors="replace")
                raise RuntimeError(f"nginx exited with {self.proc.returncode}: {log}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError("nginx did not start listening") from None
                time.sleep(0.02)

    @property
    def url(self) -> str:
        """Base URL."""
        return f"http://127.0.0.1:{self.port}"

    def peak_rss(self) -> int:
        """Peak RSS of the nginx process in bytes."""
        return peak_rss_of(self.proc.pid)

    def stop(self) -> None:
        """Stop nginx."""
        terminate(self.proc)
        self._log.close()
