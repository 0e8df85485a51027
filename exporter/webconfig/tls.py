"""TLS contexts from the web config, and what a request's client certificate says."""

from __future__ import annotations

import contextlib
import hmac
import ipaddress
import os
import ssl
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

from aiohttp import web

from .model import TLSSettings


def _no_password() -> bytes:
    """Key password callback: encrypted keys fail to load instead of prompting on a tty."""
    return b""


@contextlib.contextmanager
def _pem_path(data: bytes) -> Iterator[str]:
    """A path OpenSSL can open holding ``data``: an anonymous memory file where possible."""
    if sys.platform == "linux":
        fd = os.memfd_create("tls-pem", os.MFD_CLOEXEC)
        try:
            os.write(fd, data)
            yield f"/proc/self/fd/{fd}"
        finally:
            os.close(fd)
        return
    with tempfile.TemporaryDirectory() as directory:  # pragma: no cover - non-Linux
        path = Path(directory) / "pem"
        path.write_bytes(data)
        path.chmod(0o600)
        yield str(path)


def make_ssl_context(tls: TLSSettings) -> ssl.SSLContext:
    """A server context for ``tls``; raises ``ssl.SSLError`` when something does not load."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    apply_handshake_settings(context, tls)
    with _pem_path(tls.cert_pem) as cert, _pem_path(tls.key_pem) as key:
        context.load_cert_chain(cert, key, password=_no_password)
    if tls.client_ca_pem is not None:
        context.load_verify_locations(cadata=tls.client_ca_pem.decode("ascii", "replace"))
    return context


def apply_handshake_settings(context: ssl.SSLContext, tls: TLSSettings) -> None:
    """Settings OpenSSL takes from the listening context when a connection starts."""
    context.minimum_version = tls.min_version
    context.maximum_version = tls.max_version
    context.set_ciphers(tls.ciphers)
    if tls.prefer_server_ciphers:
        context.options |= ssl.OP_CIPHER_SERVER_PREFERENCE
    else:
        context.options &= ~ssl.OP_CIPHER_SERVER_PREFERENCE
    context.verify_mode = tls.verify_mode


def peer_sans(request: web.Request) -> list[str]:
    """Subject alternative names of the request's (verified) client certificate."""
    transport = request.transport
    cert = transport.get_extra_info("peercert") if transport is not None else None
    if not isinstance(cert, dict):
        return []
    return [str(value) for _, value in cert.get("subjectAltName", ())]


def same_san(allowed: str, seen: str) -> bool:
    """Whether a SAN matches an allow-list entry (IP addresses compared as addresses)."""
    try:
        return ipaddress.ip_address(allowed) == ipaddress.ip_address(seen)
    except ValueError:
        return hmac.compare_digest(allowed.encode(), seen.encode())
