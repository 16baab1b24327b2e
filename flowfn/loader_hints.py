"""How to fix an app that failed to import, for the mistakes a new app makes most: a misspelt
grant, argument or name, and a module that is not installed. Imported only on that failure."""

from __future__ import annotations

import difflib
import inspect
import os.path
import re
import sys
from typing import Any

from flowfn.resources.base import Access, Resource

__all__ = ["fix_for"]

_KEYWORD = re.compile(r"^(\w+)\.(\w+)\(\) got an unexpected keyword argument '(\w+)'$")


def fix_for(exc: BaseException, filename: str | None) -> str | None:
    """The ``Fix: ...`` sentence (ending in its stop) for ``exc``, raised while importing ``filename``,
    or None."""
    if isinstance(exc, ModuleNotFoundError) and exc.name:
        return _missing_module(exc.name, filename)
    owner = getattr(exc, "obj", None) if isinstance(exc, AttributeError) else None
    if isinstance(owner, Resource):
        return _grant(owner, getattr(exc, "name", None) or "")
    if isinstance(exc, TypeError):
        match = _KEYWORD.match(str(exc))
        if match is not None:
            return _keyword(*match.groups())
    if isinstance(exc, NameError) and not isinstance(exc, UnboundLocalError) and exc.name:
        return _name(exc, exc.name)
    return None


def _name(exc: NameError, name: str) -> str | None:
    """A misspelt name (``thumbnail`` for ``thumbnails``): the nearest the failing line could see."""
    tb = exc.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    if tb is None:
        return None
    import flowfn

    frame = tb.tb_frame
    exported = [n for n in flowfn.__all__ if not n.startswith("_")]
    if name in exported:
        return f"Fix: import it: from flowfn import {name}."
    seen = {*frame.f_locals, *frame.f_globals, *frame.f_builtins}
    close = difflib.get_close_matches(name, sorted(n for n in seen if not n.startswith("__")), n=1)
    if close:
        return f"Fix: did you mean {close[0]!r}?"
    close = difflib.get_close_matches(name, exported, n=1)
    return f"Fix: did you mean {close[0]!r} (from flowfn import {close[0]})?" if close else None


def _missing_module(name: str, filename: str | None) -> str:
    top = name.split(".")[0]
    if filename is not None:
        folder = os.path.dirname(filename)
        sibling = os.path.isfile(os.path.join(folder, f"{top}.py")) or os.path.isfile(
            os.path.join(folder, top, "__init__.py"))
        if sibling and os.path.isfile(os.path.join(folder, "__init__.py")):
            return (f"Fix: {top!r} is a module of the same package; import it through the package, "
                    f"as `from . import {top}` or by its full name.")
    return (f"Fix: install the package that provides {top!r} into the Python running flowfn "
            f"({sys.executable}), and list it in requirements.txt beside the app, so that the layer "
            "`flowfn synth --bundle` builds for the deployed functions holds it too.")


def _grant(resource: Resource, name: str) -> str:
    kind = type(resource).__name__
    grants = [f".{access.value}()" for access in Access if access in resource.accesses]
    listed = ", ".join(grants[:-1]) + f" and {grants[-1]}" if len(grants) > 1 else grants[0]
    close = difflib.get_close_matches(name, [g[1:-2] for g in grants], n=1)
    guess = f"; did you mean .{close[0]}()?" if close else "."
    return f"Fix: a {kind}'s grants are {listed}{guess}"


def _keyword(owner: str, method: str, keyword: str) -> str | None:
    import flowfn

    if owner == "AppDecorators":  # App's decorator methods, defined on its base (flowfn/decorators.py)
        owner = "App"
    cls = getattr(flowfn, owner, None)
    function: Any = getattr(cls, method, None) if isinstance(cls, type) else None
    if function is None or owner not in flowfn.__all__:
        return None
    called = f"{owner}()" if method == "__init__" else method if owner == "App" else f"{owner}.{method}()"
    names = [p.name for p in inspect.signature(function).parameters.values()
             if p.kind is not p.VAR_KEYWORD and p.name != "self" and not p.name.startswith("_")]
    close = difflib.get_close_matches(keyword, names, n=1, cutoff=0.5)
    if close:
        return f"Fix: {called} has no argument {keyword!r}; did you mean {close[0]}=?"
    takes = f"it takes {', '.join(names)}" if names else "it takes no arguments"
    return f"Fix: {called} has no argument {keyword!r}; {takes}."
