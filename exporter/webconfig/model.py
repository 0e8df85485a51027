"""The web config's vocabulary (exporter-toolkit names) and its validated form."""

from __future__ import annotations

import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from ..config import ConfigError

#: Python's default server cipher list (TLS 1.2 and below; TLS 1.3 suites are fixed).
DEFAULT_CIPHERS = (
    "@SECLEVEL=2:ECDH+AESGCM:ECDH+CHACHA20:ECDH+AES:DHE+AES:!aNULL:!eNULL:!aDSS:!SHA1:!AESCCM"
)
#: Python verifies every client certificate it receives, so "request" and "require any"
#: behave as "verify if given" and "require and verify" (stricter, never looser).
CLIENT_AUTH = {
    "NoClientCert": ssl.CERT_NONE,
    "RequestClientCert": ssl.CERT_OPTIONAL,
    "VerifyClientCertIfGiven": ssl.CERT_OPTIONAL,
    "RequireAnyClientCert": ssl.CERT_REQUIRED,
    "RequireClientCert": ssl.CERT_REQUIRED,
    "RequireAndVerifyClientCert": ssl.CERT_REQUIRED,
}
VERSIONS = {"TLS12": ssl.TLSVersion.TLSv1_2, "TLS13": ssl.TLSVersion.TLSv1_3}
#: Go's secure cipher suite names -> OpenSSL names (None: TLS 1.3, not configurable).
CIPHERS: dict[str, str | None] = {
    "TLS_RSA_WITH_AES_128_CBC_SHA": "AES128-SHA",
    "TLS_RSA_WITH_AES_256_CBC_SHA": "AES256-SHA",
    "TLS_RSA_WITH_AES_128_GCM_SHA256": "AES128-GCM-SHA256",
    "TLS_RSA_WITH_AES_256_GCM_SHA384": "AES256-GCM-SHA384",
    "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA": "ECDHE-ECDSA-AES128-SHA",
    "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA": "ECDHE-ECDSA-AES256-SHA",
    "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA": "ECDHE-RSA-AES128-SHA",
    "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA": "ECDHE-RSA-AES256-SHA",
    "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256": "ECDHE-ECDSA-AES128-GCM-SHA256",
    "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384": "ECDHE-ECDSA-AES256-GCM-SHA384",
    "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256": "ECDHE-RSA-AES128-GCM-SHA256",
    "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384": "ECDHE-RSA-AES256-GCM-SHA384",
    "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256": "ECDHE-RSA-CHACHA20-POLY1305",
    "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256": "ECDHE-ECDSA-CHACHA20-POLY1305",
    "TLS_AES_128_GCM_SHA256": None,
    "TLS_AES_256_GCM_SHA384": None,
    "TLS_CHACHA20_POLY1305_SHA256": None,
}
CURVES = ("CurveP256", "CurveP384", "CurveP521", "X25519")


class WebConfigError(ConfigError):
    """The web config file is invalid; ``problems`` names each key at fault."""


@dataclass(frozen=True)
class TLSSettings:
    """The server side of TLS, with certificate and key already read."""

    cert_pem: bytes = field(repr=False)
    key_pem: bytes = field(repr=False)
    client_ca_pem: bytes | None = field(repr=False)
    client_auth: str
    allowed_sans: tuple[str, ...] | None
    min_version: ssl.TLSVersion
    max_version: ssl.TLSVersion
    ciphers: str
    prefer_server_ciphers: bool

    @property
    def verify_mode(self) -> ssl.VerifyMode:
        """How client certificates are asked for and checked."""
        return CLIENT_AUTH[self.client_auth]


@dataclass(frozen=True)
class WebConfig:
    """A validated web config file."""

    tls: TLSSettings | None = None
    users: Mapping[str, bytes] = field(default_factory=dict, repr=False)
    excluded_paths: frozenset[str] = frozenset()
    headers: Mapping[str, str] = field(default_factory=dict)
    rate_interval: float = 0.0
    rate_burst: int = 0
    #: The file itself and every file it names (watched for changes).
    watched: tuple[Path, ...] = ()
    #: Settings accepted but not applied, and other warnings.
    notes: tuple[str, ...] = ()

    def describe(self) -> str:
        """One line for the log and ``--check-config``; no secret in it."""
        parts = []
        if self.tls is None:
            parts.append("TLS off")
        else:
            names = {v: k for k, v in VERSIONS.items()}
            versions = f"{names[self.tls.min_version]}..{names[self.tls.max_version]}"
            parts.append(f"TLS on ({versions}, client certificates: {self.tls.client_auth})")
        parts.append(f"basic auth: {len(self.users)} user(s)" if self.users else "basic auth off")
        if self.excluded_paths:
            parts.append("no auth on " + ", ".join(sorted(self.excluded_paths)))
        if self.rate_interval > 0:
            parts.append(f"rate limit {1 / self.rate_interval:g}/s burst {self.rate_burst}")
        return "; ".join(parts)
