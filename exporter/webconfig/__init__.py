"""``--web.config.file``: TLS, basic auth and response headers for every endpoint.

The file has the format of the Prometheus exporter toolkit (``tls_server_config``,
``http_server_config``, ``basic_auth_users``, ``auth_excluded_paths``, ``rate_limit``).
It is re-read when it, or a file it names, changes; an invalid new version is logged
and the previous one stays in force (see SECURITY.md).
"""

from .auth import BasicAuthenticator, TokenBucket, parse_basic
from .live import RELOAD_SECONDS, WebSecurity
from .model import TLSSettings, WebConfig, WebConfigError
from .parse import load_web_config
from .tls import make_ssl_context

__all__ = [
    "RELOAD_SECONDS",
    "BasicAuthenticator",
    "TLSSettings",
    "TokenBucket",
    "WebConfig",
    "WebConfigError",
    "WebSecurity",
    "load_web_config",
    "make_ssl_context",
    "parse_basic",
]
