"""The serac command line: settings precedence (flags > SERAC_* environment > config file),
the start line, help, and refusals of bad settings."""

import os
import subprocess

import requests

from serac_server import SeracServer, serac_bin


def _prefix(srv):
    r = requests.get(f"{srv.url}/v1/config", timeout=10)
    assert r.status_code == 200, r.text
    return r.json()["overrides"]["prefix"]


def _env_without_serac():
    return {k: v for k, v in os.environ.items() if not k.startswith("SERAC_")}


def test_precedence_flag_env_file(tmp_path):
    conf = tmp_path / "serac.conf"
    conf.write_text("# a comment\nwarehouse = fromfile\nlog-level = \"info\"\n")
    # The file alone.
    with SeracServer(name="cli-file", extra_args=["--config", str(conf)]) as srv:
        assert _prefix(srv) == "fromfile"
    # The environment beats the file.
    with SeracServer(name="cli-env", extra_args=["--config", str(conf)],
                     env={"SERAC_WAREHOUSE": "fromenv"}) as srv:
        assert _prefix(srv) == "fromenv"
    # A flag beats both; SERAC_CONFIG names the file too.
    with SeracServer(name="cli-flag", extra_args=["--warehouse", "fromflag"],
                     env={"SERAC_WAREHOUSE": "fromenv", "SERAC_CONFIG": str(conf)}) as srv:
        assert _prefix(srv) == "fromflag"


def test_start_line_says_how_to_connect():
    with SeracServer(name="cli-line") as srv:
        first = srv.stdout_lines[0]
        assert first.startswith("serac: listening on http://127.0.0.1:"), first
        assert srv.url in first and 'warehouse "default"' in first


def _run(args, **kw):
    return subprocess.run([str(serac_bin()), *args], capture_output=True, text=True, timeout=30,
                          env=_env_without_serac(), **kw)


def test_help_and_version():
    r = _run(["help"])
    assert r.returncode == 0
    for flag in ("--port", "--store", "--config", "SERAC_DATA_DIR", "--idempotency-lifetime"):
        assert flag in r.stdout
    r = _run(["version"])
    assert r.returncode == 0 and r.stdout.startswith("serac ")


def test_bad_settings_are_refused(tmp_path):
    cases = [
        (["serve", "--no-such-flag", "1"], "unknown flag"),
        (["serve", "--port"], "needs a value"),
        (["serve", "--port", "70000"], "invalid port"),
        (["serve", "--log-level", "loud"], "invalid log-level"),
        (["serve", "--config", str(tmp_path / "missing.conf")], "cannot read config file"),
        (["frobnicate"], "unknown command"),
    ]
    for args, words in cases:
        r = _run(args, cwd=tmp_path)
        assert r.returncode != 0, (args, r.stdout)
        assert words in r.stderr, (args, r.stderr)
    bad = tmp_path / "bad.conf"
    bad.write_text("port 8181\n")
    r = _run(["serve", "--config", str(bad)], cwd=tmp_path)
    assert r.returncode != 0 and "expected 'key = value'" in r.stderr
    bad.write_text("colour = blue\n")
    r = _run(["serve", "--config", str(bad)], cwd=tmp_path)
    assert r.returncode != 0 and "unknown setting 'colour'" in r.stderr


def test_migrate_command(tmp_path):
    r = _run(["migrate", "--data-dir", str(tmp_path / "d")], cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "up to date" in r.stdout
    assert (tmp_path / "d" / "catalog.db").exists()
