"""The code asset: the app's source and the flowfn runtime in a deterministic zip.

Entries are sorted, timestamps fixed and modes normalized, so the same sources give the same bytes;
the asset's name carries a hash of its entries. Tests, caches, hidden files (``.env``, ``.git``)
and credentials never go in.
"""

from __future__ import annotations

import fnmatch
import hashlib
import importlib.util
import io
import marshal
import sys
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from types import CodeType
from typing import Any

import flowfn
from flowfn.app import App
from flowfn.synth.context import SynthError

_SKIP_DIRS = frozenset({
    "__pycache__", "tests", "test", "node_modules", "venv", "env", "build", "dist", "site-packages",
    "cdk.out",
})
_SKIP_FILES = ("test_*.py", "*_test.py", "conftest.py", "*.pyc", "*.pyo", "*.pem", "*.key", "*.p12",
               "*.pfx", "*.crt", "id_rsa*", "id_ed25519*", "id_ecdsa*", "credentials", "credentials.*",
               "*.env", "*.zip", "*.so.dSYM")
#: Parts of flowfn a deployed function never imports.
_NOT_RUNTIME = frozenset({"cli.py", "testing.py", "deploy.py", "synth", "local"})
_EPOCH = (1980, 1, 1, 0, 0, 0)
#: Where Lambda unpacks the code asset; compiled files name their sources there.
TASK_ROOT = "/var/task"
_UNCHECKED_HASH = 0b01  # PEP 552: a hash-based .pyc whose source is never re-checked


def skipped(rel: PurePosixPath) -> bool:
    """True for paths that never ship: hidden, tests, caches, virtualenvs, credentials."""
    for part in rel.parts[:-1]:
        if part.startswith(".") or part in _SKIP_DIRS or part.endswith(".egg-info"):
            return True
    name = rel.name
    return name.startswith(".") or any(fnmatch.fnmatch(name, pat) for pat in _SKIP_FILES)


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
    """The files of the code zip, as (path in the zip, contents), sorted."""

    entries: tuple[tuple[str, bytes], ...]

    @property
    def name(self) -> str:
        return f"code-{digest(self.entries)[:16]}.zip"

    def zip_bytes(self) -> bytes:
        return write_zip(self.entries)


def _walk(root: Path, exclude: Sequence[Path]) -> list[tuple[str, Path]]:
    found = []
    excluded = [p.resolve() for p in exclude]
    for path in sorted(root.rglob("*")):
        if not path.is_file() or any(path.resolve().is_relative_to(e) for e in excluded):
            continue
        rel = PurePosixPath(path.relative_to(root).as_posix())
        if not skipped(rel):
            found.append((rel.as_posix(), path))
    return found


def runtime_files() -> list[tuple[str, Path]]:
    """The flowfn package as a deployed function needs it: no CLI, synth or local emulator."""
    package = Path(flowfn.__file__).parent
    out = []
    for path in sorted(package.rglob("*")):
        rel = path.relative_to(package)
        if not path.is_file() or rel.parts[0] in _NOT_RUNTIME or "__pycache__" in rel.parts:
            continue
        if path.suffix == ".py" or path.name == "py.typed":
            out.append(("flowfn/" + rel.as_posix(), path))
    return out


def compiled(rel: str, source: bytes) -> tuple[str, bytes] | None:
    """The ``__pycache__`` entry for one source file, as this interpreter writes it, or None.

    Hash-based and unchecked (PEP 552), with the file named at its place in Lambda's task root, so
    the bytes depend only on the source and the interpreter: the asset stays reproducible.
    """
    try:
        code = compile(source, f"{TASK_ROOT}/{rel}", "exec", dont_inherit=True)
    except SyntaxError:
        return None  # left to fail on import, where the error names the file
    folder, _, name = rel.rpartition("/")
    cache = f"{folder}/__pycache__" if folder else "__pycache__"
    stem = name.removesuffix(".py")
    header = (importlib.util.MAGIC_NUMBER + _UNCHECKED_HASH.to_bytes(4, "little")
              + importlib.util.source_hash(source))
    code = _interned(code)
    return f"{cache}/{stem}.{sys.implementation.cache_tag}.pyc", header + marshal.dumps(code)


def _interned(obj: Any) -> Any:
    """``obj`` with every string in it interned.

    marshal writes a string as interned when anything in the process has interned it (a module
    imported meanwhile uses ``"]"`` as a name), so without this the same source could compile to
    different bytes in one process and the next.
    """
    if type(obj) is str:
        return sys.intern(obj)
    if type(obj) is tuple:
        return tuple(_interned(o) for o in obj)
    if type(obj) is frozenset:
        return frozenset(_interned(o) for o in obj)
    if isinstance(obj, CodeType):
        return obj.replace(co_consts=_interned(obj.co_consts), co_names=_interned(obj.co_names),
                           co_varnames=_interned(obj.co_varnames), co_freevars=_interned(obj.co_freevars),
                           co_cellvars=_interned(obj.co_cellvars), co_filename=sys.intern(obj.co_filename),
                           co_name=sys.intern(obj.co_name), co_qualname=sys.intern(obj.co_qualname))
    return obj


def collect_code(app: App, *, exclude: Sequence[Path] = (), bytecode: bool = False) -> CodeAsset:
    """Read the app's folder and the flowfn runtime into a :class:`CodeAsset`.

    ``exclude`` lists paths to leave out (the output folder when it lies inside the app).
    ``bytecode`` adds a compiled file beside every source (see :func:`compiled`).
    """
    if app.origin is None:
        raise SynthError(f"{app!r} has no origin folder; load it with flowfn.loader.load_app(...)")
    root = Path(app.origin.root)
    entries: dict[str, bytes] = {}
    for rel, path in _walk(root, exclude):
        if rel.split("/")[0] == "flowfn":
            continue  # the runtime below is the one that ships
        entries[rel] = path.read_bytes()
    for rel, path in runtime_files():
        entries[rel] = path.read_bytes()
    module_file = app.origin.module.replace(".", "/")
    if not any(k in (module_file + ".py", module_file + "/__init__.py") for k in entries):
        raise SynthError(
            f"the code asset of {root} would not hold module {app.origin.module!r}: it is skipped as "
            "a test, hidden or cache file; rename it or move it out of such a folder"
        )
    if bytecode:
        for rel, source in list(entries.items()):
            if rel.endswith(".py") and (pyc := compiled(rel, source)) is not None:
                entries[pyc[0]] = pyc[1]
    return CodeAsset(tuple(sorted(entries.items())))
