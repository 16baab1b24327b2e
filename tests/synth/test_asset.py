"""The code asset: deterministic, importable, and free of tests, caches and secrets (the allowlist
itself: test_allowlist.py)."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import zipfile
from pathlib import Path

from flowfn.app import App
from flowfn.loader import load_app
from flowfn.synth.asset import collect_code


def _write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


APP = '''
from flowfn import on_schedule
from helpers.util import greet

@on_schedule("rate(1 hour)")
def tick():
    return greet()
'''


def _app(tmp_path: Path) -> App:
    _write(tmp_path, {
        "asset_probe.py": APP,
        "helpers/__init__.py": "",
        "helpers/util.py": "def greet():\n    return 'hi'\n",
        "helpers/data.json": "{}",
        "tests/test_svc.py": "x = 1\n",
        "test_local.py": "x = 1\n",
        "conftest.py": "",
        ".env": "SECRET=1\n",
        ".aws/credentials": "[default]\n",
        "deploy.pem": "key",
        "__pycache__/asset_probe.cpython-311.pyc": "",
        ".venv/lib/x.py": "",
        "node_modules/a.js": "",
        "out/template.json": "{}",
    })
    return load_app(str(tmp_path / "asset_probe.py"), fresh=True)


def test_entries_are_the_app_and_the_runtime_only(tmp_path: Path) -> None:
    asset = collect_code(_app(tmp_path), exclude=[tmp_path / "out"])
    names = [name for name, _ in asset.entries]
    app_files = [n for n in names if not n.startswith("flowfn/")]
    assert app_files == ["asset_probe.py", "helpers/__init__.py", "helpers/util.py"]  # data.json: not declared
    assert "flowfn/__init__.py" in names and "flowfn/app.py" in names
    assert not any(n.startswith(("flowfn/synth/", "flowfn/local/")) or n == "flowfn/cli.py" for n in names)
    assert names == sorted(names)


def test_zip_is_byte_identical_with_fixed_timestamps(tmp_path: Path) -> None:
    app = _app(tmp_path)
    first = collect_code(app).zip_bytes()
    os.utime(tmp_path / "asset_probe.py", (0, 0))
    again = collect_code(app)
    assert again.zip_bytes() == first
    with zipfile.ZipFile(io.BytesIO(first)) as zf:
        infos = zf.infolist()
        assert {i.date_time for i in infos} == {(1980, 1, 1, 0, 0, 0)}
        assert [i.filename for i in infos] == sorted(i.filename for i in infos)


def test_name_follows_the_content(tmp_path: Path) -> None:
    app = _app(tmp_path)
    before = collect_code(app).name
    assert before.startswith("code-") and before.endswith(".zip") and len(before) == len("code-") + 16 + 4
    (tmp_path / "helpers" / "util.py").write_text("def greet():\n    return 'hello'\n")
    assert collect_code(app).name != before


def test_the_app_imports_from_the_unpacked_zip(tmp_path: Path) -> None:
    app = _app(tmp_path)
    task = tmp_path / "task"
    with zipfile.ZipFile(io.BytesIO(collect_code(app).zip_bytes())) as zf:
        zf.extractall(task)
    probe = (
        "import sys, asset_probe, flowfn, flowfn.runtime\n"
        "assert flowfn.__file__.startswith(sys.argv[1]), flowfn.__file__\n"
        "heavy = sorted(m for m in ('typer', 'rich', 'moto', 'boto3', 'flowfn.synth', 'flowfn.local')"
        " if m in sys.modules)\n"
        "assert not heavy, heavy\n"
        "print(asset_probe.tick())\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLOWFN_")}
    env["PYTHONPATH"] = str(task)
    done = subprocess.run([sys.executable, "-c", probe, str(task)], cwd=task, env=env,
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "hi"


def test_bytecode_ships_beside_every_source_and_is_what_loads(tmp_path: Path) -> None:
    app = _app(tmp_path / "src")
    asset = collect_code(app, exclude=[tmp_path / "src" / "out"], bytecode=True)
    names = dict(asset.entries)
    tag = sys.implementation.cache_tag
    sources = [n for n in names if n.endswith(".py")]
    assert sources and all(
        f"{n.rpartition('/')[0] + '/' if '/' in n else ''}__pycache__/{n.rpartition('/')[2][:-3]}.{tag}.pyc" in names
        for n in sources
    )
    assert collect_code(app, exclude=[tmp_path / "src" / "out"], bytecode=True).entries == asset.entries
    task = tmp_path / "task"
    with zipfile.ZipFile(io.BytesIO(asset.zip_bytes())) as zf:
        zf.extractall(task)
    # The compiled file is unchecked: a changed source proves the import ran the shipped bytecode.
    (task / "helpers" / "util.py").write_text("def greet():\n    return 'changed'\n")
    env = {"PATH": os.environ.get("PATH", ""), "PYTHONDONTWRITEBYTECODE": "1"}
    code = "import sys; sys.path.insert(0, '.'); import helpers.util as u; print(u.greet(), u.__file__)"
    out = subprocess.run([sys.executable, "-S", "-c", code], cwd=task, env=env, capture_output=True,
                         text=True, check=True)
    assert out.stdout.split()[0] == "hi"


def test_bytecode_only_for_the_running_python() -> None:
    from flowfn.synth import SynthOptions, current_python

    other = "3.12" if current_python() != "3.12" else "3.13"
    assert SynthOptions(python=current_python()).ships_bytecode
    assert not SynthOptions(python=other).ships_bytecode
    assert not SynthOptions(python=current_python(), bytecode=False).ships_bytecode


def test_bytecode_does_not_depend_on_what_the_process_interned() -> None:
    from flowfn.synth.asset import compiled

    source = b'MARK = "\\x02"\n'  # a one-character string is one object in the whole process
    before = compiled("marks.py", source)
    sys.intern("\x02")  # as a module imported meanwhile may do
    assert compiled("marks.py", source) == before
