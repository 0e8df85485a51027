"""``--web.config.file`` validation: every mistake is named, nothing secret is echoed."""

from __future__ import annotations

import ssl
from pathlib import Path

import pytest
from support import base_env, run_cli
from tlscerts import Authority, bcrypt_hash

from exporter.webconfig import WebConfigError, load_web_config, parse_basic

SECRET_MARK = "do-not-print-me-0451"


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    directory = tmp_path_factory.mktemp("pki")
    ca = Authority(directory, "main")
    other = Authority(directory, "other")
    server = ca.issue("server", server=True)
    stranger = other.issue("server", server=True)
    return {
        "ca": ca.cert,
        "cert": server.cert,
        "key": server.key,
        "other_key": stranger.key,
        "dir": directory,
    }


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "web.yml"
    path.write_text(text)
    return path


def problems(path: Path) -> str:
    with pytest.raises(WebConfigError) as info:
        load_web_config(path)
    text = "\n".join(info.value.problems)
    assert all(line.startswith(f"--web.config.file {path}: ") for line in info.value.problems)
    return text


def test_full_config_loads_and_describes_itself(tmp_path: Path, pki: dict[str, Path]) -> None:
    hashed = bcrypt_hash("pw")
    path = write(
        tmp_path,
        f"""
tls_server_config:
  cert_file: {pki["cert"]}
  key_file: {pki["key"]}
  client_auth_type: RequireAndVerifyClientCert
  client_ca_file: {pki["ca"]}
  client_allowed_sans: [scraper.example]
  min_version: TLS12
  max_version: TLS13
  cipher_suites: [TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, TLS_AES_128_GCM_SHA256]
  prefer_server_cipher_suites: true
http_server_config:
  http2: true
  headers:
    X-Frame-Options: deny
    X-Content-Type-Options: nosniff
basic_auth_users:
  alice: {hashed}
auth_excluded_paths: [/healthz]
rate_limit:
  interval: 100ms
  burst: 20
""",
    )
    config = load_web_config(path)
    assert config.tls is not None
    assert config.tls.verify_mode == ssl.CERT_REQUIRED
    assert config.tls.allowed_sans == ("scraper.example",)
    assert config.tls.ciphers == "ECDHE-ECDSA-AES128-GCM-SHA256"
    assert config.users == {"alice": hashed.encode()}
    assert config.excluded_paths == {"/healthz"}
    assert config.headers == {"X-Frame-Options": "deny", "X-Content-Type-Options": "nosniff"}
    assert config.rate_interval == pytest.approx(0.1)
    assert set(config.watched) == {path, pki["cert"], pki["key"], pki["ca"]}
    summary = config.describe()
    assert "TLS on (TLS12..TLS13, client certificates: RequireAndVerifyClientCert)" in summary
    assert "basic auth: 1 user(s)" in summary
    assert hashed not in summary
    assert hashed not in repr(config)


def test_relative_paths_are_relative_to_the_file(pki: dict[str, Path]) -> None:
    path = pki["dir"] / "relative.yml"
    path.write_text(
        f"tls_server_config:\n  cert_file: {pki['cert'].name}\n  key_file: {pki['key'].name}\n"
    )
    config = load_web_config(path)
    assert config.tls is not None
    assert config.tls.verify_mode == ssl.CERT_NONE


def test_empty_file_means_plain_http_without_auth(tmp_path: Path) -> None:
    config = load_web_config(write(tmp_path, "# nothing\n"))
    assert config.tls is None
    assert not config.users
    assert config.describe().startswith("TLS off")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("tls_config: {}\nbasic_auth: {}\n", "unknown key(s) basic_auth, tls_config"),
        ("tls_server_config:\n  certfile: x\n", "tls_server_config: unknown key(s) certfile"),
        ("http_server_config:\n  gzip: true\n", "http_server_config: unknown key(s) gzip"),
        ("rate_limit:\n  every: 1s\n", "rate_limit: unknown key(s) every"),
        ("basic_auth_users:\n  bob: plaintext\n", "basic_auth_users.bob: not a bcrypt hash"),
        ("basic_auth_users: [bob]\n", "basic_auth_users: must be a mapping"),
        (
            "http_server_config:\n  headers:\n    X-Powered-By: me\n",
            "header 'X-Powered-By' is not allowed",
        ),
        (
            "http_server_config:\n  headers:\n    X-Frame-Options: allow\n",
            "X-Frame-Options: must be one of deny, sameorigin",
        ),
        ("rate_limit:\n  interval: fast\n", "rate_limit.interval: must be a duration"),
        ("rate_limit:\n  interval: 1s\n  burst: 0\n", "burst: must be at least 1"),
        ("auth_excluded_paths: [healthz]\n", "paths must start with '/'"),
        ("- a\n- b\n", "must be a mapping"),
        (
            "tls_server_config:\n  client_auth_type: NoClientCert\n",
            "cert_file (or cert) is required",
        ),
    ],
)
def test_mistakes_are_named(tmp_path: Path, text: str, expected: str) -> None:
    assert expected in problems(write(tmp_path, text))


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        ("  client_auth_type: Sometimes\n", "client_auth_type: 'Sometimes' is not one of"),
        ("  min_version: TLS11\n", "TLS11 is not supported; TLS12 is the minimum"),
        ("  min_version: TLS13\n  max_version: TLS12\n", "min_version is above max_version"),
        ("  max_version: SSL3\n", "'SSL3' is not one of TLS12, TLS13"),
        ("  client_ca_file: {ca}\n", "client_ca_file is set but client_auth_type is NoClientCert"),
        (
            "  client_auth_type: RequireAndVerifyClientCert\n",
            "needs client_ca_file",
        ),
        (
            "  client_auth_type: VerifyClientCertIfGiven\n  client_ca_file: {ca}\n"
            "  client_allowed_sans: [x]\n",
            "client_allowed_sans: needs client_auth_type RequireAnyClientCert",
        ),
        ("  cipher_suites: [TLS_RSA_WITH_RC4_128_SHA]\n", "unknown or insecure suite(s)"),
        ("  curve_preferences: [CurveP999]\n", "unknown curve(s) CurveP999"),
        ("  cert: inline\n", "set cert or cert_file, not both"),
    ],
)
def test_tls_mistakes_are_named(
    tmp_path: Path, pki: dict[str, Path], extra: str, expected: str
) -> None:
    text = f"tls_server_config:\n  cert_file: {pki['cert']}\n  key_file: {pki['key']}\n"
    assert expected in problems(write(tmp_path, text + extra.format(ca=pki["ca"])))


def test_unreadable_files_and_mismatched_keys(tmp_path: Path, pki: dict[str, Path]) -> None:
    missing = write(tmp_path, "tls_server_config:\n  cert_file: nope.pem\n  key_file: nope.key\n")
    text = problems(missing)
    assert f"cert_file: cannot read {tmp_path / 'nope.pem'}" in text
    assert f"key_file: cannot read {tmp_path / 'nope.key'}" in text
    mismatch = write(
        tmp_path,
        f"tls_server_config:\n  cert_file: {pki['cert']}\n  key_file: {pki['other_key']}\n",
    )
    assert "the key does not belong to the certificate" in problems(mismatch)
    garbage = tmp_path / "garbage.pem"
    garbage.write_text(f"-----BEGIN CERTIFICATE-----\n{SECRET_MARK}\n-----END CERTIFICATE-----\n")
    bad = write(tmp_path, f"tls_server_config:\n  cert_file: {garbage}\n  key_file: {pki['key']}\n")
    text = problems(bad)
    assert "cannot load the certificate" in text
    assert SECRET_MARK not in text


def test_inline_certificate_and_key(tmp_path: Path, pki: dict[str, Path]) -> None:
    cert = pki["cert"].read_text().replace("\n", "\n    ")
    key = pki["key"].read_text().replace("\n", "\n    ")
    config = load_web_config(
        write(tmp_path, f"tls_server_config:\n  cert: |\n    {cert}\n  key: |\n    {key}\n")
    )
    assert config.tls is not None
    assert config.watched == (tmp_path / "web.yml",)
    assert "PRIVATE KEY" not in repr(config)


def test_invalid_yaml_is_reported_without_quoting_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, f'basic_auth_users:\n  alice: "{SECRET_MARK}\n  bob: [\n')
    text = problems(path)
    assert "invalid YAML" in text
    assert "line" in text
    assert SECRET_MARK not in text


def test_basic_header_parsing() -> None:
    assert parse_basic("Basic YWxpY2U6cHc6eA==") == (b"alice", b"pw:x")
    assert parse_basic("basic YWxpY2U6") == (b"alice", b"")
    for bad in (None, "", "Bearer abc", "Basic", "Basic !!!", "Basic YWxpY2U="):
        assert parse_basic(bad) is None


def test_invalid_file_at_start_exits_2_with_a_clear_message(tmp_path: Path) -> None:
    path = write(
        tmp_path, f"tls_server_config:\n  cert_file: a\nbasic_auth_users:\n  x: {SECRET_MARK}\n"
    )
    env = base_env("http://127.0.0.1:9/api", user_ids="1")
    result = run_cli("--web.config.file", str(path), env=env)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    prefix = f"configuration error: --web.config.file {path}: "
    assert prefix + "basic_auth_users.x: not a bcrypt hash ($2y$10$...)" in lines
    assert any("key_file (or key) is required" in line for line in lines)
    assert all(line.startswith("configuration error: ") for line in lines)
    assert "Traceback" not in result.stderr
    assert SECRET_MARK not in result.stderr + result.stdout


def test_check_config_reports_the_web_config(tmp_path: Path, pki: dict[str, Path]) -> None:
    hashed = bcrypt_hash("pw")
    path = write(
        tmp_path,
        f"tls_server_config:\n  cert_file: {pki['cert']}\n  key_file: {pki['key']}\n"
        f"basic_auth_users:\n  alice: {hashed}\n",
    )
    env = base_env("http://127.0.0.1:9/api", user_ids="1")
    result = run_cli("--check-config", "--web.config.file", str(path), env=env)
    assert result.returncode == 0, result.stderr
    assert (
        "web config: TLS on (TLS12..TLS13, client certificates: NoClientCert); "
        "basic auth: 1 user(s)" in result.stdout
    )
    assert hashed not in result.stdout
