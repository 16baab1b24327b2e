"""Compiled files for the code asset: the same bytes from the same sources, with any CPython 3.10+.

Synth imports :func:`compiled` when the functions' Python is the one running it. For another
installed Python, it runs this file as a script with that interpreter (``python3.12 -S -s
pycompile.py``): the sources arrive as JSON on stdin, ``{"task_root": ..., "sources": {name:
base64}}``, and the compiled files leave as JSON on stdout, ``{pyc name: base64}``. So this module
imports nothing but the standard library, and nothing of flowfn.
"""

from __future__ import annotations

import base64
import importlib.util
import json
import marshal
import sys
from types import CodeType
from typing import Any

__all__ = ["compiled"]

_UNCHECKED_HASH = 0b01  # PEP 552: a hash-based .pyc whose source is never re-checked


def compiled(rel: str, source: bytes, task_root: str) -> tuple[str, bytes] | None:
    """The ``__pycache__`` entry for one source file, as this interpreter writes it, or None.

    Hash-based and unchecked (PEP 552), with the file named at its place in ``task_root``, so the
    bytes depend only on the source and the interpreter: the asset stays reproducible.
    """
    try:
        code = compile(source, f"{task_root}/{rel}", "exec", dont_inherit=True)
    except SyntaxError:
        return None  # left to fail on import, where the error names the file
    folder, _, name = rel.rpartition("/")
    cache = f"{folder}/__pycache__" if folder else "__pycache__"
    stem = name[:-3] if name.endswith(".py") else name
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
        names = {"co_consts": _interned(obj.co_consts), "co_names": _interned(obj.co_names),
                 "co_varnames": _interned(obj.co_varnames), "co_freevars": _interned(obj.co_freevars),
                 "co_cellvars": _interned(obj.co_cellvars), "co_filename": sys.intern(obj.co_filename),
                 "co_name": sys.intern(obj.co_name)}
        if hasattr(obj, "co_qualname"):  # Python 3.11 and later
            names["co_qualname"] = sys.intern(obj.co_qualname)
        return obj.replace(**names)
    return obj


def _main() -> None:
    request = json.load(sys.stdin)
    task_root = request["task_root"]
    out = {}
    for rel, text in request["sources"].items():
        pyc = compiled(rel, base64.b64decode(text), task_root)
        if pyc is not None:
            out[pyc[0]] = base64.b64encode(pyc[1]).decode()
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    _main()
