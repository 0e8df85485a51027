"""Settings: every ``TOGGL_FOCUS_*`` name, its validation and the secrets.

Sources, highest priority first: command-line flags, environment variables, the
optional YAML file given with ``--config``, defaults. Secrets come only from the
environment or from files (``..._FILE``), never from flags.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import (
    Field,
    PrivateAttr,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

ENV_PREFIX = "TOGGL_FOCUS_"
DEFAULT_PORT = 10019

Unit = Literal["day", "week", "month", "quarter"]
TaskSource = Literal["focus", "google_calendar", "outlook_calendar"]


class ConfigError(Exception):
    """Invalid configuration; ``problems`` holds one line per problem, naming the variable."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


def env_name(field: str) -> str:
    """The environment variable that sets ``field``."""
    return ENV_PREFIX + field.upper()


@dataclass(frozen=True)
class BearerToken:
    """Credentials sent as ``Authorization: Bearer``."""

    token: SecretStr


@dataclass(frozen=True)
class BasicCredentials:
    """Credentials sent as HTTP Basic (the seed page's form)."""

    email: SecretStr
    password: SecretStr


Credentials = BearerToken | BasicCredentials


def _split_csv(value: Any) -> Any:
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    if isinstance(value, int):
        return [value]
    return value


def _read_secret_file(field: str, path: Path) -> SecretStr:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ValueError(f"{env_name(field)}: cannot read {path}: {exc.strerror}") from None
    value = text.strip()
    if not value:
        raise ValueError(f"{env_name(field)}: file {path} is empty")
    return SecretStr(value)


class Settings(BaseSettings):
    """The exporter's configuration."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        case_sensitive=False,
        extra="forbid",
        hide_input_in_errors=True,
        validate_default=True,
    )

    api_url: str = "https://focus.toggl.com/api"
    api_token: SecretStr | None = None
    api_token_file: Path | None = None
    email: SecretStr | None = None
    email_file: Path | None = None
    password: SecretStr | None = None
    password_file: Path | None = None

    organization_id: int = Field(gt=0)
    workspace_id: int = Field(gt=0)
    user_ids: Annotated[list[Annotated[int, Field(gt=0)]], NoDecode] = []
    ghost_ids: Annotated[list[Annotated[int, Field(gt=0)]], NoDecode] = []
    discover: bool = False
    discovery_interval: float = Field(default=21600.0, ge=60)
    discovery_id_field: Literal["user_account_id", "id"] = "user_account_id"

    horizon_days: int = Field(default=28, ge=1, le=366)
    timezone: str = "UTC"
    unit: Unit = "day"
    private: bool | None = None
    task_sources: Annotated[list[TaskSource], NoDecode] = []
    include_drafts: bool | None = None
    array_format: Literal["csv", "repeat"] = "csv"

    refresh_interval: float = Field(default=300.0, ge=1)
    request_budget: int = Field(default=20, ge=1)
    max_staleness: float | None = Field(default=None, gt=0)
    quota_pause: float = Field(default=900.0, ge=1)
    max_concurrency: int = Field(default=4, ge=1, le=64)
    max_url_length: int = Field(default=4000, ge=256, le=65536)
    request_timeout: float = Field(default=30.0, gt=0, le=600)
    max_retries: int = Field(default=2, ge=0, le=10)
    max_response_bytes: int = Field(default=64 * 1024 * 1024, ge=1024)

    listen_address: str = f"0.0.0.0:{DEFAULT_PORT}"
    web_config_file: Path | None = None
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    log_format: Literal["text", "json"] = "text"

    _credentials: Credentials | None = PrivateAttr(default=None)
    yaml_data: ClassVar[dict[str, Any] | None] = None

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Flags, then environment, then the ``--config`` YAML file."""
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        yaml_data = getattr(settings_cls, "yaml_data", None)
        if yaml_data:
            sources.append(_MappingSource(settings_cls, yaml_data))
        return tuple(sources)

    @field_validator("user_ids", "ghost_ids", "task_sources", mode="before")
    @classmethod
    def _csv(cls, value: Any) -> Any:
        return _split_csv(value)

    @field_validator("user_ids", "ghost_ids")
    @classmethod
    def _unique(cls, value: list[int]) -> list[int]:
        return list(dict.fromkeys(value))

    @field_validator("api_url")
    @classmethod
    def _url(cls, value: str) -> str:
        value = value.strip().rstrip("/")
        if not value.startswith(("http://", "https://")) or len(value) < 9:
            raise ValueError("must be an http:// or https:// URL")
        if "@" in value.split("/", 3)[2]:
            raise ValueError("must not contain credentials; use the token or password settings")
        return value

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown IANA time zone {value!r}") from None
        return value

    @field_validator("listen_address")
    @classmethod
    def _listen(cls, value: str) -> str:
        parse_listen_address(value)
        return value

    @model_validator(mode="after")
    def _resolve(self) -> Settings:
        problems: list[str] = []
        secrets: dict[str, SecretStr | None] = {}
        for field in ("api_token", "email", "password"):
            direct: SecretStr | None = getattr(self, field)
            path: Path | None = getattr(self, f"{field}_file")
            if direct is not None and path is not None:
                problems.append(
                    f"{env_name(field)} and {env_name(field)}_FILE are both set; use one"
                )
                continue
            try:
                secrets[field] = _read_secret_file(field, path) if path else direct
            except ValueError as exc:
                problems.append(str(exc))
        token, email, password = (secrets.get(k) for k in ("api_token", "email", "password"))
        if token is not None and (email is not None or password is not None):
            problems.append(
                f"{env_name('api_token')} and {env_name('email')}/{env_name('password')}"
                " are both set; use one form of authentication"
            )
        elif token is not None:
            self._credentials = BearerToken(token)
        elif email is not None and password is not None:
            self._credentials = BasicCredentials(email, password)
        elif email is not None or password is not None:
            missing = "password" if email is not None else "email"
            problems.append(f"{env_name(missing)}: required with {env_name('email')} (Basic auth)")
        elif not problems:
            problems.append(
                f"{env_name('api_token')}: required (or {env_name('email')} and "
                f"{env_name('password')}); each may also be given as ..._FILE"
            )
        if not self.user_ids and not self.ghost_ids and not self.discover:
            problems.append(
                f"{env_name('user_ids')}: no entity configured; set it, "
                f"{env_name('ghost_ids')} or {env_name('discover')}=true"
            )
        if self.max_staleness is not None and self.max_staleness < self.refresh_interval:
            problems.append(f"{env_name('max_staleness')}: must be >= the refresh interval")
        if problems:
            raise ValueError("\n".join(problems))
        return self

    @property
    def credentials(self) -> Credentials:
        """The resolved credentials (validation guarantees they are set)."""
        assert self._credentials is not None
        return self._credentials

    @property
    def zone(self) -> ZoneInfo:
        """The time zone that defines "today"."""
        return ZoneInfo(self.timezone)

    def secret_values(self) -> list[str]:
        """Every secret string, for the log redaction filter."""
        creds = self._credentials
        if isinstance(creds, BearerToken):
            return [creds.token.get_secret_value()]
        if isinstance(creds, BasicCredentials):
            return [creds.email.get_secret_value(), creds.password.get_secret_value()]
        return []


class _MappingSource(PydanticBaseSettingsSource):
    """Settings from an already parsed YAML mapping."""

    def __init__(self, settings_cls: type[BaseSettings], data: dict[str, Any]) -> None:
        super().__init__(settings_cls)
        self._data = data

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return self._data.get(field_name), field_name, False

    def __call__(self) -> dict[str, Any]:
        return dict(self._data)


def parse_listen_address(value: str) -> tuple[str, int]:
    """Split ``host:port`` (``[v6]:port`` and ``:port`` allowed) into host and port."""
    host, sep, port_text = value.strip().rpartition(":")
    if not sep or not port_text.isdigit() or not 0 <= int(port_text) <= 65535:
        raise ValueError(f"must be host:port, got {value!r}")
    host = host.strip("[]") or "0.0.0.0"
    return host, int(port_text)


def yaml_problem(exc: yaml.YAMLError) -> str:
    """A YAML error without PyYAML's quoted snippet of the file (it may hold a secret)."""
    problem = getattr(exc, "problem", None) or "cannot parse"
    mark = getattr(exc, "problem_mark", None)
    if mark is None:
        return str(problem)
    return f"{problem} at line {mark.line + 1}, column {mark.column + 1}"


def _load_yaml(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError([f"--config {path}: cannot read: {exc.strerror}"]) from None
    except yaml.YAMLError as exc:
        raise ConfigError([f"--config {path}: invalid YAML: {yaml_problem(exc)}"]) from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError([f"--config {path}: must be a mapping of setting names to values"])
    secret_keys = {"api_token", "email", "password"} & set(data)
    if secret_keys:
        names = ", ".join(sorted(secret_keys))
        raise ConfigError(
            [f"--config {path}: {names} not allowed in files; use the ..._file settings"]
        )
    return {str(k).lower(): v for k, v in data.items()}


def _format_error(error: Any) -> list[str]:
    loc = [str(part) for part in error.get("loc", ()) if part != ""]
    msg = str(error.get("msg", "invalid"))
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, ") :]
    if not loc:
        return msg.splitlines()
    field = loc[0]
    name = env_name(field) if field in Settings.model_fields else f"{ENV_PREFIX}{field.upper()}"
    if error.get("type") == "extra_forbidden":
        return [f"{name}: unknown setting {field!r}"]
    return [f"{name}: {msg}"]


def unknown_environment_names(environ: dict[str, str] | None = None) -> list[str]:
    """``TOGGL_FOCUS_*`` variables that name no setting (likely typos)."""
    known = {env_name(field) for field in Settings.model_fields}
    env = os.environ if environ is None else environ
    return sorted(k for k in env if k.upper().startswith(ENV_PREFIX) and k.upper() not in known)


def load_settings(config_file: Path | None = None, **overrides: Any) -> Settings:
    """Build and validate the settings; raise :class:`ConfigError` listing every problem."""
    cls: type[Settings] = Settings
    if config_file is not None:
        yaml_data = _load_yaml(config_file)
        cls = type("FileSettings", (Settings,), {"yaml_data": yaml_data})
    try:
        return cls(**{k: v for k, v in overrides.items() if v is not None})
    except ValidationError as exc:
        problems: list[str] = []
        for error in exc.errors(include_input=False, include_url=False):
            problems.extend(_format_error(error))
        raise ConfigError(problems) from None
