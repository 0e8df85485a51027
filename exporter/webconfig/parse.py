"""Reading and validating the web config file: every problem is named, no value echoed."""

from __future__ import annotations

import re
import ssl
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from ..config import yaml_problem
from .model import (
    CIPHERS,
    CLIENT_AUTH,
    CURVES,
    DEFAULT_CIPHERS,
    VERSIONS,
    TLSSettings,
    WebConfig,
    WebConfigError,
)
from .tls import make_ssl_context

_TOP_KEYS = {
    "tls_server_config",
    "http_server_config",
    "basic_auth_users",
    "auth_excluded_paths",
    "rate_limit",
}
_TLS_KEYS = {
    "cert",
    "key",
    "client_ca",
    "cert_file",
    "key_file",
    "client_ca_file",
    "client_auth_type",
    "client_allowed_sans",
    "min_version",
    "max_version",
    "cipher_suites",
    "prefer_server_cipher_suites",
    "curve_preferences",
}
_HTTP_KEYS = {"http2", "headers"}
_RATE_KEYS = {"interval", "burst"}
#: Headers the toolkit allows, with their accepted values (None: any).
_HEADERS: dict[str, tuple[str, ...] | None] = {
    "Content-Security-Policy": None,
    "X-Frame-Options": ("deny", "sameorigin"),
    "X-Content-Type-Options": ("nosniff",),
    "X-XSS-Protection": None,
    "Strict-Transport-Security": None,
}
_BCRYPT_HASH = re.compile(r"^\$2[abxy]?\$\d{2}\$[./A-Za-z0-9]{53}$")
_DURATION = re.compile(r"^(?:(\d+(?:\.\d*)?)(ns|us|µs|ms|s|m|h))+$")
_DURATION_PART = re.compile(r"(\d+(?:\.\d*)?)(ns|us|µs|ms|s|m|h)")
_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


class _Problems:
    """Collects problems, each prefixed with the file name."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.items: list[str] = []

    def add(self, message: str) -> None:
        self.items.append(f"--web.config.file {self.path}: {message}")


def _section(data: Mapping[str, Any], key: str, known: set[str], out: _Problems) -> dict[str, Any]:
    value = data.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        out.add(f"{key}: must be a mapping")
        return {}
    unknown = sorted(str(k) for k in value if k not in known)
    if unknown:
        out.add(f"{key}: unknown key(s) {', '.join(unknown)}")
    return value


def _string(section: Mapping[str, Any], key: str, where: str, out: _Problems) -> str | None:
    value = section.get(key)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        out.add(f"{where}.{key}: must be a string")
        return None
    return value


def _strings(section: Mapping[str, Any], key: str, where: str, out: _Problems) -> list[str] | None:
    value = section.get(key)
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        out.add(f"{where}.{key}: must be a list of strings")
        return None
    return list(value)


def _read_pem(
    section: Mapping[str, Any], inline: str, file_key: str, base: Path, out: _Problems
) -> tuple[bytes | None, Path | None]:
    """The PEM text given inline or in a file (relative to the config file)."""
    where = "tls_server_config"
    text = _string(section, inline, where, out)
    name = _string(section, file_key, where, out)
    if text is not None and name is not None:
        out.add(f"{where}: set {inline} or {file_key}, not both")
        return None, None
    if text is not None:
        return text.encode(), None
    if name is None:
        return None, None
    path = base / name
    try:
        return path.read_bytes(), path
    except OSError as exc:
        out.add(f"{where}.{file_key}: cannot read {path}: {exc.strerror}")
        return None, path


def _duration(value: object) -> float | None:
    """Seconds from a Go duration (``500ms``, ``1m30s``); ``None`` if malformed."""
    if value == 0 or value == "0":
        return 0.0
    if not isinstance(value, str) or not _DURATION.match(value.strip()):
        return None
    return sum(float(n) * _UNITS[u] for n, u in _DURATION_PART.findall(value.strip()))


def _parse_tls(
    data: Mapping[str, Any], base: Path, out: _Problems, watched: list[Path], notes: list[str]
) -> TLSSettings | None:
    where = "tls_server_config"
    section = _section(data, where, _TLS_KEYS, out)
    if not section:
        return None
    cert, cert_path = _read_pem(section, "cert", "cert_file", base, out)
    key, key_path = _read_pem(section, "key", "key_file", base, out)
    ca, ca_path = _read_pem(section, "client_ca", "client_ca_file", base, out)
    watched.extend(p for p in (cert_path, key_path, ca_path) if p is not None)
    if cert is None and cert_path is None:
        out.add(f"{where}: cert_file (or cert) is required")
    if key is None and key_path is None:
        out.add(f"{where}: key_file (or key) is required")
    client_auth = _string(section, "client_auth_type", where, out) or "NoClientCert"
    if client_auth not in CLIENT_AUTH:
        names = ", ".join(CLIENT_AUTH)
        out.add(f"{where}.client_auth_type: {client_auth!r} is not one of {names}")
        client_auth = "NoClientCert"
    mode = CLIENT_AUTH[client_auth]
    if mode == ssl.CERT_NONE and ca is not None:
        out.add(f"{where}: client_ca_file is set but client_auth_type is NoClientCert")
    if mode != ssl.CERT_NONE and ca is None and ca_path is None:
        out.add(
            f"{where}: client_auth_type {client_auth} needs client_ca_file (client "
            "certificates are always verified against it)"
        )
    if client_auth in ("RequestClientCert", "RequireAnyClientCert", "RequireClientCert"):
        notes.append(
            f"client_auth_type {client_auth}: client certificates are verified against "
            "client_ca_file (as VerifyClientCertIfGiven / RequireAndVerifyClientCert)"
        )
    sans = _strings(section, "client_allowed_sans", where, out)
    if sans is not None and mode != ssl.CERT_REQUIRED:
        out.add(
            f"{where}.client_allowed_sans: needs client_auth_type RequireAnyClientCert "
            "or RequireAndVerifyClientCert"
        )
    versions = []
    for key_name, default in (("min_version", "TLS12"), ("max_version", "TLS13")):
        name = _string(section, key_name, where, out) or default
        if name in ("TLS10", "TLS11"):
            out.add(f"{where}.{key_name}: {name} is not supported; TLS12 is the minimum")
        elif name not in VERSIONS:
            out.add(f"{where}.{key_name}: {name!r} is not one of TLS12, TLS13")
        versions.append(VERSIONS.get(name, VERSIONS[default]))
    if versions[0] > versions[1]:
        out.add(f"{where}: min_version is above max_version")
    suites = _strings(section, "cipher_suites", where, out) or []
    unknown = [s for s in suites if s not in CIPHERS]
    if unknown:
        out.add(f"{where}.cipher_suites: unknown or insecure suite(s) {', '.join(unknown)}")
    openssl_names = [n for s in suites if (n := CIPHERS.get(s))]
    prefer = section.get("prefer_server_cipher_suites", True)
    if not isinstance(prefer, bool):
        out.add(f"{where}.prefer_server_cipher_suites: must be true or false")
        prefer = True
    curves = _strings(section, "curve_preferences", where, out)
    if curves:
        bad = [c for c in curves if c not in CURVES]
        if bad:
            out.add(f"{where}.curve_preferences: unknown curve(s) {', '.join(bad)}")
        notes.append("curve_preferences is not applied: OpenSSL's default groups are used")
    if cert is None or key is None:
        return None
    return TLSSettings(
        cert,
        key,
        ca,
        client_auth,
        tuple(sans) if sans is not None else None,
        versions[0],
        versions[1],
        ":".join(openssl_names) if openssl_names else DEFAULT_CIPHERS,
        prefer,
    )


def _parse_users(data: Mapping[str, Any], out: _Problems) -> dict[str, bytes]:
    raw = data.get("basic_auth_users")
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        out.add("basic_auth_users: must be a mapping of user name to bcrypt hash")
        return {}
    users: dict[str, bytes] = {}
    for name, hashed in raw.items():
        user = str(name)
        if ":" in user:
            out.add(f"basic_auth_users: user name {user!r} must not contain ':'")
        elif not isinstance(hashed, str) or not _BCRYPT_HASH.match(hashed.strip()):
            out.add(f"basic_auth_users.{user}: not a bcrypt hash ($2y$10$...)")
        else:
            users[user] = hashed.strip().encode()
    return users


def _parse_http(data: Mapping[str, Any], out: _Problems) -> dict[str, str]:
    section = _section(data, "http_server_config", _HTTP_KEYS, out)
    if not isinstance(section.get("http2", True), bool):
        out.add("http_server_config.http2: must be true or false")
    raw = section.get("headers") or {}
    if not isinstance(raw, dict):
        out.add("http_server_config.headers: must be a mapping")
        return {}
    headers: dict[str, str] = {}
    for name, value in raw.items():
        allowed = _HEADERS.get(str(name), ())
        if allowed == ():
            out.add(f"http_server_config.headers: header {name!r} is not allowed")
        elif not isinstance(value, str):
            out.add(f"http_server_config.headers.{name}: must be a string")
        elif allowed is not None and value.lower() not in allowed:
            out.add(f"http_server_config.headers.{name}: must be one of {', '.join(allowed)}")
        elif value:
            headers[str(name)] = value
    return headers


def _parse_rate(data: Mapping[str, Any], out: _Problems) -> tuple[float, int]:
    section = _section(data, "rate_limit", _RATE_KEYS, out)
    if not section:
        return 0.0, 0
    interval = _duration(section.get("interval", 0))
    burst = section.get("burst", 0)
    if interval is None:
        out.add("rate_limit.interval: must be a duration such as 100ms or 1s")
        return 0.0, 0
    if isinstance(burst, bool) or not isinstance(burst, int) or burst < 0:
        out.add("rate_limit.burst: must be a non-negative integer")
        return 0.0, 0
    if interval > 0 and burst < 1:
        out.add("rate_limit.burst: must be at least 1 when an interval is set")
    return interval, burst


def _parse_excluded(data: Mapping[str, Any], out: _Problems) -> frozenset[str]:
    paths = _strings(data, "auth_excluded_paths", "auth_excluded_paths", out) or []
    bad = [p for p in paths if not p.startswith("/")]
    if bad:
        out.add(f"auth_excluded_paths: paths must start with '/': {', '.join(bad)}")
    return frozenset(paths)


def load_web_config(path: Path) -> WebConfig:
    """Read and validate the file; raise :class:`WebConfigError` listing every problem."""
    out = _Problems(path)
    try:
        text = path.read_text(encoding="utf-8")
        data = yaml.safe_load(text)
    except OSError as exc:
        raise WebConfigError([f"--web.config.file {path}: cannot read: {exc.strerror}"]) from None
    except UnicodeDecodeError:
        raise WebConfigError([f"--web.config.file {path}: not UTF-8 text"]) from None
    except yaml.YAMLError as exc:
        problem = f"--web.config.file {path}: invalid YAML: {yaml_problem(exc)}"
        raise WebConfigError([problem]) from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise WebConfigError([f"--web.config.file {path}: must be a mapping"])
    unknown = sorted(str(k) for k in data if k not in _TOP_KEYS)
    if unknown:
        out.add(f"unknown key(s) {', '.join(unknown)}")
    watched = [path]
    notes: list[str] = []
    tls = _parse_tls(data, path.parent, out, watched, notes)
    users = _parse_users(data, out)
    excluded = _parse_excluded(data, out)
    headers = _parse_http(data, out)
    interval, burst = _parse_rate(data, out)
    if tls is not None and not out.items:
        try:
            make_ssl_context(tls)
        except (ssl.SSLError, ValueError) as exc:
            out.add(f"tls_server_config: {_ssl_problem(exc)}")
    if out.items:
        raise WebConfigError(out.items)
    if users and tls is None:
        notes.append("basic auth without TLS: passwords cross the network in clear text")
    return WebConfig(tls, users, excluded, headers, interval, burst, tuple(watched), tuple(notes))


def _ssl_problem(exc: Exception) -> str:
    reason = getattr(exc, "reason", None)
    text = str(exc)
    if "KEY_VALUES_MISMATCH" in text:
        return "the key does not belong to the certificate"
    if isinstance(exc, ssl.SSLError) and reason:
        return (
            f"cannot load the certificate, key or client CA ({reason}); "
            "encrypted keys are not supported"
        )
    return f"cannot load the certificate, key or client CA: {text}"
