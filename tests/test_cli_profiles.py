"""The profile file (~/.haymaker/config.toml, or HAYMAKER_CONFIG): a broken one is a usage
error naming the file and the line, not a traceback; writes replace it whole."""

from __future__ import annotations

import os
import tomllib

import pytest
from typer.testing import CliRunner

from haymaker_cli import app


@pytest.fixture
def config(monkeypatch, tmp_path):
    path = tmp_path / "haymaker" / "config.toml"
    monkeypatch.setenv("HAYMAKER_CONFIG", str(path))
    for name in ("HAYMAKER_URL", "HAYMAKER_KEY", "HAYMAKER_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    return path


def run(*args: str):
    return CliRunner().invoke(app, list(args), catch_exceptions=False)


@pytest.mark.parametrize(
    "command", [("profile", "list"), ("workload", "list"), ("profile", "use", "local")]
)
def test_a_file_that_is_not_toml_names_the_file_and_the_line(config, command):
    config.parent.mkdir()
    config.write_text('current = "prod"\n[profiles.prod\nurl = "https://x"\n')
    result = run(*command)
    assert result.exit_code == 2, result.output
    assert f"{config}, line 2" in result.stderr
    assert "not valid TOML" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_a_profile_the_schema_refuses_names_the_file_and_the_key(config):
    config.parent.mkdir()
    config.write_text('[profiles.prod]\nurl = "ftp://x"\n')
    result = run("profile", "list")
    assert result.exit_code == 2
    assert str(config) in result.stderr
    assert "profiles.prod.url: Value error, must start with http:// or https://" in result.stderr


def test_a_file_that_is_not_utf8(config):
    config.parent.mkdir()
    config.write_bytes(b'current = "\xff"\n')
    result = run("profile", "list")
    assert result.exit_code == 2
    assert str(config) in result.stderr


def test_a_save_replaces_the_file_whole(config):
    assert run("profile", "add", "prod", "--url", "https://func-a.example").exit_code == 0
    first = config.stat().st_ino
    assert run("profile", "add", "test", "--url", "https://func-b.example", "--use").exit_code == 0
    assert config.stat().st_ino != first  # a new file renamed over the old, not rewritten
    assert sorted(os.listdir(config.parent)) == ["config.toml"]  # no temporary file left
    stored = tomllib.loads(config.read_text())
    assert stored["current"] == "test"
    assert set(stored["profiles"]) == {"local", "prod", "test"}


def test_a_save_writes_through_a_symlink(config, tmp_path):
    """Dotfile managers link the file: the link stays, its target gets the profiles."""
    target = tmp_path / "dotfiles" / "haymaker.toml"
    target.parent.mkdir()
    target.write_text("")
    config.parent.mkdir()
    config.symlink_to(target)
    assert run("profile", "add", "prod", "--url", "https://func-a.example").exit_code == 0
    assert config.is_symlink()
    assert "prod" in tomllib.loads(target.read_text())["profiles"]
