"""The code asset is an allowlist: the app's modules and packages plus the data it declares.

Keys, credentials, state, logs, earlier synth output, hidden files and whatever a symlink reaches
outside the app's folder stay out, even when a broad include pattern would match them.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from flowfn.errors import ConfigError
from flowfn.loader import load_app
from flowfn.synth.asset import CodeAsset, collect_code

APP = '''
from flowfn import on_schedule
from kiosklib.sub.mod import greet

@on_schedule("rate(1 hour)")
def tick():
    return greet()
'''

#: What ``flowfn synth`` used to put in the zip beside the app, none of which may ship.
JUNK = {
    "id_dsa": "-----BEGIN DSA PRIVATE KEY-----",
    "rootkey.csv": "AWSAccessKeyId=AKIA...",
    "secrets.yaml": "db_password: hunter2",
    "terraform.tfstate": "{}",
    "AuthKey_ABC123.p8": "key",
    "release.jks": "keystore",
    "server.ppk": "PuTTY",
    "service-account.json": "{}",
    "db.sqlite3": "SQLite format 3",
    "app.log": "log line",
    "logs/2025-01-01.log": "log line",
    ".env": "SECRET=1",
    ".aws/credentials": "[default]",
    ".flowfn/kiosk/run.json": "{}",
    ".terraform/terraform.tfstate": "{}",
    "cdk.out/manifest.json": "{}",
    "deploy-out/template.json": "{}",  # an earlier `flowfn synth --out deploy-out`
    "deploy-out/assets/code-0123456789abcdef.zip": "PK",
    "venv/pyvenv.cfg": "home = /usr/bin",
    "venv/lib/python3.11/site-packages/six.py": "",
    "kiosklib/__pycache__/mod.cpython-311.pyc": "",
    "kiosklib/notes.md": "undeclared data inside a package",
    "fonts/LICENSE.txt": "undeclared data beside declared data",
    "scripts/release.py": "# a folder of scripts, not a package",
    "tests/test_kiosk.py": "x = 1",
    "test_local.py": "x = 1",
    "conftest.py": "",
}

MODULES = ["kiosklib/__init__.py", "kiosklib/sub/__init__.py", "kiosklib/sub/mod.py", "kiosk.py"]


def _write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def _pyproject(root: Path, **keys: list[str] | str) -> None:
    lines = ["[project]", 'name = "kiosk"', "", "[tool.flowfn]"]
    lines += [f"{key} = {value!r}".replace("'", '"') for key, value in keys.items()]
    (root / "pyproject.toml").write_text("\n".join(lines) + "\n")


def _app_dir(tmp_path: Path) -> Path:
    """An app folder holding everything that must not ship, symlinks leaving it, and one that stays."""
    root, outside = tmp_path / "app", tmp_path / "outside"
    _write(outside, {"private.ttf": "not the app's", "lib/__init__.py": "", "lib/leak.py": "x = 1"})
    _write(root, {
        "kiosk.py": APP,
        "kiosklib/__init__.py": "",
        "kiosklib/sub/__init__.py": "",
        "kiosklib/sub/mod.py": "def greet():\n    return 'hi'\n",
        "kiosklib/templates/page.html": "<p>{{ name }}</p>",
        "kiosklib/templates/.DS_Store": "",
        "fonts/Inter.ttf": "font",
        **JUNK,
    })
    (root / "fonts" / "Stolen.ttf").symlink_to(outside / "private.ttf")  # a file outside the root
    (root / "shared").symlink_to(outside / "lib", target_is_directory=True)  # a package outside it
    (root / "fonts" / "Regular.ttf").symlink_to("Inter.ttf")  # stays inside: ships
    (root / "fonts" / "Bold.ttf").symlink_to("../.env")  # stays inside, but to a hidden file
    (root / "kiosklib" / "sub" / "up").symlink_to("..", target_is_directory=True)  # a loop
    return root


def _files(asset: CodeAsset) -> list[str]:
    return [n for n, _ in asset.entries if not n.startswith("flowfn/")]


def _collect(root: Path) -> CodeAsset:
    return collect_code(load_app(str(root / "kiosk.py"), fresh=True))


def test_the_asset_is_the_modules_and_the_declared_data_only(tmp_path: Path) -> None:
    root = _app_dir(tmp_path)
    _pyproject(root, include=["fonts/*.ttf", "fonts/Inter.ttf", "kiosklib/templates"])  # overlapping is fine
    asset = _collect(root)
    assert _files(asset) == sorted([
        *MODULES, "fonts/Inter.ttf", "fonts/Regular.ttf", "kiosklib/templates/page.html",
    ])
    assert dict(asset.entries)["fonts/Regular.ttf"] == b"font"
    assert asset.forced == ()
    assert asset.undeclared == ("kiosklib/notes.md",)  # package data nothing declares: synth notes it
    assert dict(asset.left_out) == {
        "fonts/Bold.ttf": f"{root / '.env'} (leads to a file that looks like a secret)",
        "fonts/Stolen.ttf": f"{tmp_path / 'outside' / 'private.ttf'} (leads out of the app's folder)",
        "shared": f"{tmp_path / 'outside' / 'lib'} (leads out of the app's folder)",
    }


def test_without_declarations_only_python_ships(tmp_path: Path) -> None:
    asset = _collect(_app_dir(tmp_path))
    assert _files(asset) == sorted(MODULES)


def test_a_broad_include_never_reaches_state_output_or_outside_the_root(tmp_path: Path) -> None:
    root = _app_dir(tmp_path)
    os.remove(root / "service-account.json")  # a secret a broad pattern would match (refused below)
    _write(root, {"kiosklib/data/labels.json": "{}"})
    _pyproject(root, include=["**/*.json", "**/*.py"])
    assert _files(_collect(root)) == sorted([
        *MODULES, "kiosklib/data/labels.json", "scripts/release.py", "test_local.py", "conftest.py",
        "tests/test_kiosk.py",
    ])


def test_an_include_matching_a_secret_is_refused_with_the_way_to_force_it(tmp_path: Path) -> None:
    root = _app_dir(tmp_path)
    _write(root, {"config/settings.json": "{}", "config/service-account.json": "{}"})
    _pyproject(root, include=["config"])
    with pytest.raises(ConfigError) as caught:
        _collect(root)
    message = str(caught.value)
    assert "pyproject.toml" in message and "'include'" in message
    assert "'config' matches config/service-account.json" in message
    assert "'service-account*.json'" in message
    assert 'force_include = ["config/service-account.json"]' in message


def test_every_refused_file_is_named_with_one_force_include_for_all(tmp_path: Path) -> None:
    root = _app_dir(tmp_path)
    _write(root, {"config/settings.json": "{}", "config/secrets/db.json": "{}"})
    _pyproject(root, include=["config", "config/*.json", "*.p8", "id_dsa"])
    with pytest.raises(ConfigError) as caught:
        _collect(root)
    message = str(caught.value)
    assert ("'*.p8' matches AuthKey_ABC123.p8, which matches the secret pattern '*.p8' (a private key) "
            "(and config/secrets/db.json, id_dsa)") in message
    assert 'force_include = ["AuthKey_ABC123.p8", "config/secrets/db.json", "id_dsa"]' in message


@pytest.mark.parametrize(("include", "found"), [
    (".env", "'.env' matches .env, a hidden file"),
    ("config", "'config' matches config/secrets/db.json, inside a folder named 'secrets'"),
])
def test_hidden_files_and_secret_folders_are_refused_too(tmp_path: Path, include: str, found: str) -> None:
    root = _app_dir(tmp_path)
    _write(root, {"config/secrets/db.json": "{}"})
    _pyproject(root, include=[include])
    with pytest.raises(ConfigError) as caught:
        _collect(root)
    assert found in str(caught.value)


def test_force_include_ships_a_file_that_looks_like_a_secret(tmp_path: Path) -> None:
    root = _app_dir(tmp_path)
    _write(root, {"config/settings.json": "{}", "config/ca.pem": "cert"})
    _pyproject(root, include=["config"], force_include=["config/ca.pem"])
    asset = _collect(root)
    assert {"config/ca.pem", "config/settings.json"} <= set(_files(asset))
    assert asset.forced == ("config/ca.pem",)
    assert "id_dsa" not in _files(asset)


def test_force_include_never_follows_a_symlink_out_of_the_root(tmp_path: Path) -> None:
    root = _app_dir(tmp_path)
    _pyproject(root, force_include=["fonts/Stolen.ttf"])
    with pytest.raises(ConfigError, match=r"'fonts/Stolen\.ttf' matches no file"):
        _collect(root)


@pytest.mark.parametrize(("value", "problem"), [
    ('"fonts"', "a list of glob patterns"),
    ('["../shared/*.ttf"]', "'../shared/*.ttf' leaves the app's folder"),
    ('["/etc/passwd"]', "'/etc/passwd' leaves the app's folder"),
    ('["fonts/*.otf"]', "'fonts/*.otf' matches no file"),
    ('["./"]', "an empty pattern"),
])
def test_include_mistakes_are_named(tmp_path: Path, value: str, problem: str) -> None:
    root = _app_dir(tmp_path)
    (root / "pyproject.toml").write_text(f"[tool.flowfn]\ninclude = {value}\n")
    with pytest.raises(ConfigError) as caught:
        _collect(root)
    assert problem in str(caught.value) and "Fix:" in str(caught.value)


@pytest.mark.parametrize(("text", "problem"), [
    ("[tool.flowfn\ninclude = []\n", "not valid TOML"),
    ("[tool]\nflowfn = 3\n", "'tool.flowfn': it is not a table"),
])
def test_a_broken_pyproject_is_named(tmp_path: Path, text: str, problem: str) -> None:
    root = _app_dir(tmp_path)
    (root / "pyproject.toml").write_text(text)
    with pytest.raises(ConfigError) as caught:
        _collect(root)
    assert str(caught.value).startswith(str(root / "pyproject.toml")) and problem in str(caught.value)
