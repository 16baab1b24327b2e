"""The code asset: the app's modules, the data it declares, and the flowfn runtime, in a deterministic zip.

What ships is an allowlist (see :mod:`flowfn.synth.allowlist`): Python modules and packages, plus
the files ``[tool.flowfn] include`` of the app's ``pyproject.toml`` names. Hidden folders, caches,
virtualenvs, earlier synth output and anything a symlink reaches outside the app's folder are
never read. Entries are sorted, timestamps fixed and modes normalized, so the same sources give
the same bytes; the asset's name carries a hash of its entries.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import tomllib
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import flowfn
from flowfn.app import App
from flowfn.errors import ConfigError
from flowfn.synth import pycompile
from flowfn.synth.allowlist import AssetConfig, is_asset_name, parse_config, secret_reason, select
from flowfn.synth.context import SynthError

#: Folders never read, whatever is declared (hidden ones neither): caches, dependencies, output.
_NEVER_DIRS = frozenset({"__pycache__", "node_modules", "site-packages", "cdk.out"})
#: What of the flowfn package a deployed function never imports: the command line (``cli.py`` and
#: every ``cli_*.py``), deploying, synth, the local emulator, local permission checks and testing.
_NOT_RUNTIME = frozenset({"testing.py", "describe.py", "deploy", "synth", "local", "permissions"})
_EPOCH = (1980, 1, 1, 0, 0, 0)
#: Where Lambda unpacks the code asset; compiled files name their sources there.
TASK_ROOT = "/var/task"


def write_zip(entries: Iterable[tuple[str, bytes]]) -> bytes:
    """A zip of ``entries`` that depends only on their names and contents."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for name, data in sorted(entries):
            info = zipfile.ZipInfo(name, date_time=_EPOCH)
            info.create_system = 3
            info.external_attr = 0o100644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, data, compresslevel=6)
    return buffer.getvalue()


def digest(entries: Iterable[tuple[str, bytes]]) -> str:
    """A hash of entry names and contents (not of the zip bytes, which vary with zlib)."""
    h = hashlib.sha256()
    for name, data in sorted(entries):
        h.update(name.encode() + b"\0" + str(len(data)).encode() + b"\0" + data)
    return h.hexdigest()


@dataclass(frozen=True)
class CodeAsset:
    """The files of the code zip, as (path in the zip, contents), sorted.

    ``forced`` lists the app's files that look like secrets and ship because ``force_include``
    names them; ``left_out`` the symlinks left out, each with where it leads; ``undeclared`` the
    files inside the app's packages that no ``include`` names (the code may mean to read them).
    """

    entries: tuple[tuple[str, bytes], ...]
    forced: tuple[str, ...] = ()
    left_out: tuple[tuple[str, str], ...] = ()
    undeclared: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        return f"code-{digest(self.entries)[:16]}.zip"

    @property
    def size(self) -> int:
        """Bytes of all entries, unzipped."""
        return sum(len(data) for _, data in self.entries)

    def zip_bytes(self) -> bytes:
        return write_zip(self.entries)


@dataclass(frozen=True)
class Listing:
    """The files of an app's folder that may be read: relative path -> path on disk."""

    files: dict[str, Path]
    left_out: tuple[tuple[str, str], ...]


def _inside(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


def _synth_output(folder: str) -> bool:
    try:
        return any(is_asset_name(n) for n in os.listdir(os.path.join(folder, "assets")))
    except OSError:
        return False


def _never(folder: str) -> bool:
    """Folders never read: hidden, caches, dependencies, virtualenvs, synth and CDK output."""
    name = os.path.basename(folder)
    return (name.startswith(".") or name in _NEVER_DIRS or name.endswith(".egg-info")
            or os.path.isfile(os.path.join(folder, "pyvenv.cfg")) or _synth_output(folder))


def _link_problem(base: str, target: str) -> str | None:
    """Why a symlink to ``target`` (resolved) must not be followed, or None."""
    if not _inside(target, base):
        return "leads out of the app's folder"
    rel = os.path.relpath(target, base)
    parts = [] if rel == "." else rel.split(os.sep)
    folders = parts if os.path.isdir(target) else parts[:-1]
    for depth in range(1, len(folders) + 1):
        if _never(os.path.join(base, *folders[:depth])):
            return "leads into a folder that never ships"
    if not os.path.isdir(target) and secret_reason("/".join(parts)) is not None:
        return "leads to a file that looks like a secret"
    return None


def list_files(root: Path, exclude: Sequence[Path] = ()) -> Listing:
    """Every regular file under ``root`` that may ship, without following a symlink out of it.

    ``exclude`` lists folders to skip (the output folder of this synth when it lies inside).
    """
    base = os.path.realpath(root)
    excluded = [os.path.realpath(p) for p in exclude]
    files: dict[str, Path] = {}
    left_out: list[tuple[str, str]] = []

    def visit(folder: str, rel: str, real: str) -> None:
        try:
            with os.scandir(folder) as scan:
                entries = sorted(scan, key=lambda e: e.name)
        except OSError as exc:
            raise SynthError(f"cannot read {folder} for the code asset ({exc.strerror}); make it "
                             "readable, or move it out of the app's folder") from None
        for entry in entries:
            name = f"{rel}/{entry.name}" if rel else entry.name
            target = os.path.join(real, entry.name)
            if entry.is_symlink():
                target = os.path.realpath(entry.path)
                problem = _link_problem(base, target)
                if problem is not None:
                    left_out.append((name, f"{target} ({problem})"))
                    continue
            if any(_inside(target, e) for e in excluded):
                continue
            if entry.is_dir():
                if _never(entry.path) or _inside(real, target) or (not rel and entry.name == "flowfn"):
                    continue  # the runtime below is the flowfn that ships; a link to an ancestor loops
                visit(entry.path, name, target)
            elif entry.is_file():
                files[name] = Path(entry.path)

    visit(base, "", base)
    return Listing(files, tuple(left_out))


def read_config(root: Path) -> AssetConfig:
    """The ``[tool.flowfn]`` declarations of ``root/pyproject.toml``; none when it has none."""
    path = root / "pyproject.toml"
    if not path.is_file():
        return AssetConfig(source=str(path))
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(str(path), "[tool.flowfn]", f"the file is not valid TOML ({exc})",
                          "correct its syntax (https://toml.io)") from None
    tool = data.get("tool", {})
    table = tool.get("flowfn", {}) if isinstance(tool, dict) else {}
    if not isinstance(table, dict):
        raise ConfigError(str(path), "tool.flowfn", "it is not a table",
                          'write it as a [tool.flowfn] section, e.g. include = ["data/*.csv"]')
    return parse_config(table, str(path))


def runtime_files() -> list[tuple[str, Path]]:
    """The flowfn package as a deployed function needs it: no CLI, synth or local emulator."""
    package = Path(flowfn.__file__).parent
    out = []
    for path in sorted(package.rglob("*")):
        rel = path.relative_to(package)
        top = rel.parts[0]
        if not path.is_file() or top in _NOT_RUNTIME or top == "cli.py" or top.startswith("cli_") \
                or "__pycache__" in rel.parts:
            continue
        if path.suffix == ".py" or path.name == "py.typed":
            out.append(("flowfn/" + rel.as_posix(), path))
    return out


def compiled(rel: str, source: bytes) -> tuple[str, bytes] | None:
    """The ``__pycache__`` entry for one source file, as this interpreter writes it, or None.

    Hash-based and unchecked (PEP 552), with the file named at its place in Lambda's task root, so
    the bytes depend only on the source and the interpreter: the asset stays reproducible.
    """
    return pycompile.compiled(rel, source, TASK_ROOT)


def interpreter_for(python: str) -> str | None:
    """The CPython of version ``python`` (``3.12``) that compiles the asset, or None when none is found.

    The running Python when it is that version; otherwise ``python3.12`` on the PATH, asked which
    version it is (a launcher's shim for a version it cannot run answers nothing).
    """
    if python == f"{sys.version_info.major}.{sys.version_info.minor}":
        return sys.executable
    found = shutil.which(f"python{python}")
    if found is None:
        return None
    try:
        done = subprocess.run([found, "-I", "-S", "-c", "import sys; print(sys.implementation.cache_tag)"],
                              capture_output=True, text=True, timeout=30, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    expected = "cpython-" + python.replace(".", "")
    return found if done.returncode == 0 and done.stdout.strip() == expected else None


def compiled_by(interpreter: str, sources: dict[str, bytes]) -> dict[str, bytes]:
    """The ``__pycache__`` entries of ``sources`` as ``interpreter`` compiles them (another Python).

    The same module does the compiling in that interpreter (``flowfn/synth/pycompile.py``, run as a
    script), so the files are those that Python would ship had it run synth.
    """
    request = {"task_root": TASK_ROOT,
               "sources": {rel: base64.b64encode(source).decode() for rel, source in sorted(sources.items())}}
    # A fixed hash seed and nothing of the user's environment: Python 3.10 writes a set of constants
    # in the order of its strings' hashes, which differ from one process to the next otherwise.
    try:
        done = subprocess.run([interpreter, "-S", "-s", pycompile.__file__], input=json.dumps(request),
                              env={"PYTHONHASHSEED": "0"}, capture_output=True, text=True, timeout=300,
                              check=False)
    except (OSError, subprocess.SubprocessError) as exc:
        raise SynthError(f"{interpreter} could not compile the code asset ({exc}); synthesize with "
                         "--no-bytecode, or fix that interpreter") from None
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise SynthError(f"{interpreter} could not compile the code asset: {last}; synthesize with "
                         "--no-bytecode, or fix that interpreter")
    return {name: base64.b64decode(data) for name, data in json.loads(done.stdout).items()}


def collect_code(
    app: App,
    *,
    exclude: Sequence[Path] = (),
    bytecode: bool = False,
    config: AssetConfig | None = None,
    interpreter: str | None = None,
) -> CodeAsset:
    """Read the app's modules, its declared data and the flowfn runtime into a :class:`CodeAsset`.

    ``config`` says which data files ship (by default, read from the app folder's pyproject.toml).
    ``exclude`` lists paths to leave out (the output folder when it lies inside the app).
    ``bytecode`` adds a compiled file beside every source (see :func:`compiled`), by ``interpreter``
    when it is given and is not the running Python (see :func:`interpreter_for`).
    Raises ConfigError when a declared file looks like a secret and is not forced.
    """
    if app.origin is None:
        raise SynthError(f"{app!r} has no origin folder; load it with flowfn.loader.load_app(...)")
    root = Path(app.origin.root)
    listing = list_files(root, exclude)
    chosen = select(listing.files, config if config is not None else read_config(root))
    entries = {rel: listing.files[rel].read_bytes() for rel in chosen.files}
    for rel, path in runtime_files():
        entries[rel] = path.read_bytes()
    module_file = app.origin.module.replace(".", "/")
    if not any(k in (module_file + ".py", module_file + "/__init__.py") for k in chosen.files):
        raise SynthError(
            f"the code asset of {root} would not hold module {app.origin.module!r}: only modules at "
            "the folder's top and in its packages ship, never tests or hidden files; rename it, or "
            "give its folder an __init__.py"
        )
    if bytecode and interpreter is not None and interpreter != sys.executable:
        entries.update(compiled_by(interpreter, {r: s for r, s in entries.items() if r.endswith(".py")}))
    elif bytecode:
        for rel, source in list(entries.items()):
            if rel.endswith(".py") and (pyc := compiled(rel, source)) is not None:
                entries[pyc[0]] = pyc[1]
    return CodeAsset(tuple(sorted(entries.items())), chosen.forced, listing.left_out, chosen.undeclared)
