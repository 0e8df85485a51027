"""Basic auth against bcrypt hashes (cached, off the event loop) and the rate limit."""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import hmac
import secrets
import time
from collections.abc import Mapping

import bcrypt

#: Successful basic-auth checks remembered, so bcrypt does not run on every scrape.
AUTH_CACHE_SIZE = 1024
#: bcrypt checks running at once (in worker threads, off the event loop).
BCRYPT_CONCURRENCY = 2
REALM = 'Basic realm="toggl-focus-exporter", charset="UTF-8"'


def parse_basic(header: str | None) -> tuple[bytes, bytes] | None:
    """User and password from an ``Authorization: Basic`` header, or ``None``."""
    if not header:
        return None
    scheme, _, value = header.strip().partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        raw = base64.b64decode(value.strip(), validate=True)
    except (binascii.Error, ValueError):
        return None
    user, sep, password = raw.partition(b":")
    return (user, password) if sep else None


def _checkpw(password: bytes, hashed: bytes) -> bool:
    try:
        return bcrypt.checkpw(password, hashed)
    except ValueError:  # over 72 bytes, or a hash bcrypt rejects
        return False


class BasicAuthenticator:
    """Checks basic-auth credentials against bcrypt hashes; remembers successes."""

    def __init__(self, users: Mapping[str, bytes]) -> None:
        self._users = [(name.encode(), hashed) for name, hashed in users.items()]
        self._key = secrets.token_bytes(32)
        self._good: dict[bytes, None] = {}
        self._slots = asyncio.Semaphore(BCRYPT_CONCURRENCY)

    @property
    def enabled(self) -> bool:
        """True when users are configured."""
        return bool(self._users)

    def _lookup(self, user: bytes) -> tuple[bytes, bool]:
        """The user's hash (or a stand-in, so unknown users cost the same) and whether known."""
        found: bytes | None = None
        for name, hashed in self._users:
            if hmac.compare_digest(name, user):
                found = hashed
        return (found, True) if found is not None else (self._users[0][1], False)

    async def check(self, header: str | None) -> bool:
        """True when the header carries a configured user and the right password."""
        credentials = parse_basic(header)
        if credentials is None or not self._users:
            return False
        user, password = credentials
        hashed, known = self._lookup(user)
        fingerprint = hmac.new(
            self._key,
            b"%d:%b%d:%b%b" % (len(user), user, len(hashed), hashed, password),
            hashlib.sha256,
        ).digest()
        if known and fingerprint in self._good:
            return True
        async with self._slots:
            ok = await asyncio.to_thread(_checkpw, password, hashed)
        if ok and known:
            if len(self._good) >= AUTH_CACHE_SIZE:
                self._good.clear()
            self._good[fingerprint] = None
        return ok and known


class TokenBucket:
    """``rate_limit``: one request per ``interval`` on average, bursts of ``burst``."""

    def __init__(self, interval: float, burst: int) -> None:
        self._interval = interval
        self._burst = float(burst)
        self._tokens = float(burst)
        self._at = time.monotonic()

    def take(self) -> bool:
        """Take a token if one is there."""
        now = time.monotonic()
        self._tokens = min(self._burst, self._tokens + (now - self._at) / self._interval)
        self._at = now
        if self._tokens >= 1:
            self._tokens -= 1
            return True
        return False
