"""The code asset: deterministic, importable, and free of tests, caches and secrets (the allowlist
itself: test_allowlist.py)."""

from __future__ import annotations

import io
import json
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


def _other_python() -> tuple[str, str] | None:
    """Another installed CPython the asset could be compiled for: (version, its folder of programs).

    Looked for on the PATH and beside the running one (as pyenv and similar tools install them).
    """
    from flowfn.synth.asset import interpreter_for
    from flowfn.synth.options import LAMBDA_PYTHONS, current_python

    beside = sorted(str(p) for p in Path(sys.base_prefix).parent.glob("3.*/bin") if p.is_dir())
    for version in LAMBDA_PYTHONS:
        if version == current_python():
            continue
        for folder in [*os.environ.get("PATH", "").split(os.pathsep), *beside]:
            if (Path(folder) / f"python{version}").exists():
                with _path(folder):
                    if interpreter_for(version) is not None:
                        return version, folder
    return None


class _path:
    """PATH set to one folder while inside."""

    def __init__(self, folder: str) -> None:
        self.folder, self.saved = folder, os.environ.get("PATH", "")

    def __enter__(self) -> None:
        os.environ["PATH"] = self.folder

    def __exit__(self, *exc: object) -> None:
        os.environ["PATH"] = self.saved


def test_bytecode_is_compiled_by_the_functions_python(tmp_path: Path) -> None:
    # With another Python installed, it compiles the asset; without one, the running Python goes
    # through the same path (a subprocess given the sources), which must give the bytes it gives itself.
    from flowfn.synth import SynthOptions, synth_app
    from flowfn.synth.asset import compiled_by, interpreter_for

    other = _other_python()
    app = _app(tmp_path / "src")
    if other is None:
        version, python = f"{sys.version_info.major}.{sys.version_info.minor}", sys.executable
        sources = {name: data for name, data in collect_code(app, exclude=[tmp_path / "src" / "out"]).entries
                   if name.endswith(".py")}
        in_process = dict(collect_code(app, exclude=[tmp_path / "src" / "out"], bytecode=True).entries)
        assert compiled_by(python, sources) == {n: d for n, d in in_process.items() if n.endswith(".pyc")}
        return
    version, folder = other
    with _path(folder):
        python = interpreter_for(version)
        assert python is not None
        output = synth_app(load_app(str(tmp_path / "src" / "asset_probe.py"), fresh=True),
                           SynthOptions(python=version))
        again = synth_app(load_app(str(tmp_path / "src" / "asset_probe.py"), fresh=True),
                          SynthOptions(python=version))
    names = dict(output.code.entries)
    tag = "cpython-" + version.replace(".", "")
    assert "helpers/__pycache__/util." + tag + ".pyc" in names
    assert "flowfn/runtime/__pycache__/adapters." + tag + ".pyc" in names
    assert not any(n.endswith(f".{sys.implementation.cache_tag}.pyc") for n in names)
    assert again.code.entries == output.code.entries  # deterministic across runs of that interpreter
    task = tmp_path / "task"
    with zipfile.ZipFile(io.BytesIO(output.code.zip_bytes())) as zf:
        zf.extractall(task)
    # The compiled file is unchecked: a changed source proves that Python ran the shipped bytecode.
    (task / "helpers" / "util.py").write_text("def greet():\n    return 'changed'\n")
    code = "import sys; sys.path.insert(0, '.'); import helpers.util as u; print(u.greet())"
    out = subprocess.run([python, "-S", "-c", code], cwd=task, capture_output=True, text=True, check=True,
                         env={"PATH": folder, "PYTHONDONTWRITEBYTECODE": "1"})
    assert out.stdout.strip() == "hi"


def test_no_bytecode_when_the_functions_python_is_not_installed(tmp_path: Path) -> None:
    from flowfn.synth.asset import interpreter_for
    from flowfn.synth.options import LAMBDA_PYTHONS, current_python

    other = next(v for v in LAMBDA_PYTHONS if v != current_python())
    assert interpreter_for(current_python()) == sys.executable
    with _path(str(tmp_path)):
        assert interpreter_for(other) is None  # nothing of that name on the PATH
        shim = tmp_path / f"python{other}"  # a version manager's shim for a version it cannot run
        shim.write_text(f"#!/bin/sh\necho 'python{other}: command not found' >&2\nexit 127\n")
        shim.chmod(0o755)
        assert interpreter_for(other) is None


def test_bytecode_does_not_depend_on_what_the_process_interned() -> None:
    from flowfn.synth.asset import compiled

    source = b'MARK = "\\x02"\n'  # a one-character string is one object in the whole process
    before = compiled("marks.py", source)
    sys.intern("\x02")  # as a module imported meanwhile may do
    assert compiled("marks.py", source) == before


RUNTIME_APP = '''
from flowfn import Bucket, EventBus, Queue, Stream, Table, Topic, on_dynamodb_stream, on_event
from flowfn import on_http, on_kinesis, on_s3, on_schedule, on_sns, on_sqs


@on_s3(Bucket("uploads"))
def s3(record):
    return record.object_key


@on_sqs(Queue("jobs"))
def sqs(record):
    record.body


@on_schedule("rate(1 hour)")
def schedule(event):
    return event.rule_arn


@on_http("POST", "/my/path")
def http(request):
    return {"n": len(request.body)}


@on_sns(Topic("news"))
def sns(record):
    return record.message


@on_event({"source": ["custom"]}, bus=EventBus("bus"))
def eventbridge(event):
    return event.source


@on_kinesis(Stream("clicks"))
def kinesis(record):
    record.data


@on_dynamodb_stream(Table("orders", key="pk", stream=True))
def dynamodb(record):
    record.keys
'''

RUN_EACH = '''
import importlib, json, os, sys
sys.path.append({site!r})  # boto3 and the like, as Lambda's runtime has them; flowfn only from the asset
out = {{}}
for function, event in json.loads(sys.argv[1]).items():
    os.environ["FLOWFN_FUNCTION"] = function
    entry = getattr(importlib.import_module("flowfn.runtime"), "handler")  # as Lambda looks it up
    out[function] = entry(json.load(open(event)), None)
import flowfn
print(json.dumps({{"results": out, "flowfn": flowfn.__file__}}, default=str))
'''


def test_the_runtime_files_run_every_kind_on_their_own(tmp_path: Path) -> None:
    # What ships is the flowfn runtime alone (no command line, deploying, synth, local emulator or
    # permission checks), and that is all a deployed function of any kind needs.
    import sysconfig

    from flowfn.synth.asset import runtime_files

    shipped = [rel for rel, _ in runtime_files()]
    assert not [r for r in shipped if r.split("/")[1].startswith("cli")
                or r.split("/")[1] in ("deploy", "synth", "local", "permissions", "testing.py")]
    task = tmp_path / "task"
    for rel, path in runtime_files():
        (task / rel).parent.mkdir(parents=True, exist_ok=True)
        (task / rel).write_bytes(path.read_bytes())
    (task / "every_kind.py").write_text(RUNTIME_APP)
    events = Path(__file__).resolve().parents[1] / "aws_events"
    named = {"s3": "s3Event.json", "sqs": "sqsEvent.json", "schedule": "scheduledEvent.json",
             "http": "apiGatewayProxyV2Event.json", "sns": "snsEvent.json", "eventbridge": "eventBridgeEvent.json",
             "kinesis": "kinesisStreamEvent.json", "dynamodb": "dynamoStreamEvent.json"}
    code = RUN_EACH.format(site=sysconfig.get_paths()["purelib"])
    done = subprocess.run(
        [sys.executable, "-S", "-c", code, json.dumps({f: str(events / e) for f, e in named.items()})],
        cwd=task, capture_output=True, text=True, timeout=120, check=False,
        env={"PATH": os.environ.get("PATH", ""), "FLOWFN_APP": "every_kind", "AWS_REGION": "us-east-1",
             "PYTHONPATH": str(task), "PYTHONDONTWRITEBYTECODE": "1"})
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout.splitlines()[-1])
    assert report["flowfn"] == str(task / "flowfn" / "__init__.py")
    assert set(report["results"]) == set(named)
    assert report["results"]["s3"] == "b21b84d653bb07b05b1e6b33684dc11b"
