"""Configuration sources and secret masking (config.py)."""

from __future__ import annotations

import os

import pytest

from ansible_collections.aragora.ops.plugins.module_utils._engine.config import (
    MASK,
    Config,
    IntSetting,
    is_secret_name,
    mask_url,
    parse_int_setting,
    read_env_file,
    secret_values,
)
from ansible_collections.aragora.ops.plugins.module_utils._engine.result import CheckInputError, CheckSkipped


@pytest.mark.parametrize("name, secret", [
    ("ARAGORA_JWT_SECRET", True), ("ARAGORA_API_TOKEN", True), ("ARAGORA_METRICS_TOKEN", True),
    ("ARAGORA_ENCRYPTION_KEY", True), ("ANTHROPIC_API_KEY", True), ("openai_api_key", True),
    ("GOOGLE_OAUTH_CLIENT_SECRET", True), ("SENTRY_DSN", True), ("POSTGRES_PASSWORD", True), ("KEY", True),
    ("ARAGORA_REDIS_KEY_PREFIX", False), ("ARAGORA_ENV", False), ("DATABASE_URL", False),
    ("ARAGORA_ALLOWED_ORIGINS", False), ("ARAGORA_LOG_LEVEL", False),
])
def test_is_secret_name(name, secret):
    assert is_secret_name(name) is secret


def test_secret_values_finds_secrets_and_url_passwords():
    values = {
        "ARAGORA_JWT_SECRET": "jwtsecretvalue",
        "ANTHROPIC_API_KEY": "sk-ant-1",
        "OPENROUTER_API_KEY": "sk-or-1",
        "ARAGORA_REDIS_URL": "redis://:redispw@redis:6379/0",
        "DATABASE_URL": "postgresql://aragora:pgpw@db:5432/aragora",
        "CACHE_REDIS_URL": "rediss://user:p%40ss@cache:6380",
        "ARAGORA_REDIS_KEY_PREFIX": "aragora:prod:",
        "ARAGORA_ENV": "production",
        "ARAGORA_API_TOKEN": "",  # empty: nothing to hide
    }
    found = secret_values(values)
    assert {"jwtsecretvalue", "sk-ant-1", "sk-or-1", "redispw", "pgpw", "p%40ss", "p@ss"} <= found
    assert "aragora:prod:" not in found
    assert "production" not in found
    assert "" not in found
    # the URLs themselves are not secret names: only their passwords are hidden
    assert "postgresql://aragora:pgpw@db:5432/aragora" not in found


def test_secret_values_url_without_password():
    assert secret_values({"ARAGORA_REDIS_URL": "redis://redis:6379/0", "X": "https://a@b/c"}) == set()


def test_secret_values_of_secret_named_url_holds_whole_value_and_password():
    found = secret_values({"ARAGORA_POSTGRES_DSN": "postgresql://u:pw@h/db"})
    assert found == {"postgresql://u:pw@h/db", "pw"}


@pytest.mark.parametrize("url, masked", [
    ("postgresql://aragora:s3cret@db:5432/aragora", "postgresql://aragora:%s@db:5432/aragora" % MASK),
    ("redis://:pw@redis:6379/0", "redis://:%s@redis:6379/0" % MASK),
    ("rediss://default:p%40ss@cache:6380", "rediss://default:%s@cache:6380" % MASK),
    ("redis://redis:6379", "redis://redis:6379"),
    ("https://user@host/x", "https://user@host/x"),
    ("not a url", "not a url"),
    ("http://[::1", "http://[::1"),  # unparsable: returned as is, no exception
])
def test_mask_url(url, masked):
    assert mask_url(url) == masked


def test_config_sources_and_precedence(tmp_path):
    path = tmp_path / ".env"
    path.write_text("# comment\nexport ARAGORA_ENV=development\nARAGORA_LOG_LEVEL='INFO'\n"
                    "ARAGORA_ALLOWED_ORIGINS=\"https://a.example.com,https://b.example.com\"\nEMPTY=\n")
    config = Config(env_file=str(path), variables={"ARAGORA_ENV": "production", "N": 5, "NONE": None})
    assert config.sources == ["env file %s" % path, "variables"]
    assert config.get("ARAGORA_ENV") == "production"  # variables on top of the file
    assert config.file_values["ARAGORA_ENV"] == "development"
    assert config.get("ARAGORA_LOG_LEVEL") == "INFO"
    assert config.get("ARAGORA_ALLOWED_ORIGINS") == "https://a.example.com,https://b.example.com"
    assert config.get("N") == "5"
    assert config.get("NONE") is None
    assert config.get("EMPTY") is None
    assert config.get("NEVER_SET") is None
    assert config.first("NEVER_SET", "N") == ("N", "5")
    assert config.first("A", "B") == (None, None)
    assert config.env_file.mode == stat_mode(path)


def stat_mode(path):
    return os.stat(path).st_mode & 0o7777


def test_config_values_are_stripped():
    assert Config(variables={"X": "  v  "}).get("X") == "v"


def test_no_source_skips():
    config = Config()
    assert not config.given
    with pytest.raises(CheckSkipped, match="no configuration to inspect"):
        config.get("ARAGORA_ENV")
    with pytest.raises(CheckSkipped):
        Config(variables={}).require()


def test_unreadable_env_file_is_an_input_error_naming_it(tmp_path):
    missing = str(tmp_path / "missing.env")
    config = Config(env_file=missing, variables={"ARAGORA_ENV": "production"})
    assert config.given
    assert missing in config.error
    with pytest.raises(CheckInputError, match="cannot read env file .*missing.env: No such file"):
        config.get("ARAGORA_ENV")


def test_non_utf8_env_file(tmp_path):
    path = tmp_path / "latin1.env"
    path.write_bytes(b"ARAGORA_ENV=caf\xe9\n")
    with pytest.raises(CheckInputError, match="is not UTF-8 text"):
        read_env_file(str(path))


@pytest.mark.parametrize("mode, others", [(0o600, False), (0o400, False), (0o640, True), (0o604, True),
                                          (0o644, True)])
def test_env_file_readable_by_others(tmp_path, mode, others):
    path = tmp_path / "e.env"
    path.write_text("A=1\n")
    os.chmod(path, mode)
    values, info = read_env_file(str(path))
    assert values == {"A": "1"}
    assert info.mode == mode
    assert info.readable_by_others is others


def test_config_secrets_include_file_and_variables(tmp_path):
    path = tmp_path / ".env"
    path.write_text("ARAGORA_JWT_SECRET=fromfile\n")
    config = Config(env_file=str(path), variables={"OPENAI_API_KEY": "fromvars"})
    assert {"fromfile", "fromvars"} <= config.secrets()


SETTING = IntSetting("S", 10, 1, 100)


@pytest.mark.parametrize("raw, value, problem", [
    (None, None, None), ("1", 1, None), ("100", 100, None), ("0", 0, "S=0 is outside the valid range 1-100"),
    ("101", 101, "S=101 is outside the valid range 1-100"), ("x", None, "S='x' is not a whole number"),
    ("+7", 7, None), ("1e2", None, "S='1e2' is not a whole number"),
])
def test_parse_int_setting(raw, value, problem):
    config = Config(variables={"S": raw} if raw is not None else {"OTHER": "1"})
    assert parse_int_setting(config, SETTING) == (value, problem)
