"""A plain command line read straight into its command's function, without typer's parsing.

typer checks every parameter's value through a pydantic ``TypeAdapter``, made when the command
line is parsed: for ``flowfn run-local`` importing pydantic and making its twelve adapters took
about 60 ms of a start that should take well under a second. :func:`direct_call` reads a
command line made only of the command's own options from the same declarations typer reads (the
function's signature and its ``typer.Option``/``typer.Argument`` metadata) and returns the call
typer would make. It reads only what is unambiguous: each option given once, with a plain value
of type ``str``, ``int``, ``bool`` (a flag) or ``Path``. Anything else (``--help``, an unknown or
repeated option, a value starting with ``-``, a number that is not plain digits, a parameter with
a callback, an environment variable, a prompt or a check) returns None, and typer parses the
command line as always, with its own help and errors.
"""

from __future__ import annotations

import functools
import inspect
import os
import sys
import types
import typing
from collections.abc import Callable
from pathlib import Path
from typing import Any

from typer.models import ArgumentInfo, OptionInfo, ParameterInfo

__all__ = ["direct_call", "run_as_typer"]

#: What a parameter's metadata may set and still be read here: names, help and display only.
_PLAIN = frozenset({"default", "param_decls", "help", "metavar", "show_default", "hidden", "rich_help_panel",
                    "show_choices", "show_envvar"})
_TYPES: tuple[type, ...] = (str, int, bool, Path)


class _Param:
    """One parameter of the command: its Python name, its type, and the spellings that set it."""

    def __init__(self, name: str, kind: type, flag_values: dict[str, bool]) -> None:
        self.name = name
        self.kind = kind
        self.flag_values = flag_values  # bool options: spelling -> value


def _plain(info: ParameterInfo) -> bool:
    blank = type(info)()
    return all(value == getattr(blank, key) for key, value in vars(info).items() if key not in _PLAIN)


def _type(hint: Any) -> type | None:
    """``hint`` as one of the plain types (``X | None`` as ``X``); None for any other."""
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        others = [arg for arg in typing.get_args(hint) if arg is not type(None)]
        if len(others) != 1:
            return None
        hint = others[0]
    return hint if hint in _TYPES else None


@functools.cache
def _signature(fn: Callable[..., Any]) -> tuple[list[_Param], dict[str, _Param]] | None:
    """The command's positional arguments in order and its options by spelling, or None when a
    parameter needs typer."""
    hints = typing.get_type_hints(fn, include_extras=True)
    arguments: list[_Param] = []
    options: dict[str, _Param] = {}
    for name in inspect.signature(fn).parameters:
        hint = hints.get(name)
        if typing.get_origin(hint) is not typing.Annotated:
            return None
        base, *extras = typing.get_args(hint)
        infos = [e for e in extras if isinstance(e, ParameterInfo)]
        kind = _type(base)
        if len(infos) != 1 or kind is None or not _plain(infos[0]):
            return None
        info = infos[0]
        if isinstance(info, ArgumentInfo):
            if info.param_decls or kind is bool:
                return None
            arguments.append(_Param(name, kind, {}))
            continue
        # Inside Annotated, typer.Option's first positional is the first spelling, not a default.
        first = () if info.default is ... else (info.default,)
        decls = (*first, *(info.param_decls or ()))
        if not isinstance(info, OptionInfo) or not decls or not all(isinstance(d, str) for d in decls):
            return None  # typer derives the spelling itself
        flags: dict[str, bool] = {}
        for decl in decls:
            on, _, off = decl.partition("/")
            if kind is not bool and off:
                return None
            flags[on] = True
            if off:
                flags[off] = False
        param = _Param(name, kind, flags if kind is bool else {})
        for spelling in flags:
            if not spelling.startswith("-") or spelling in options:
                return None
            options[spelling] = param
    return arguments, options


def _value(param: _Param, text: str) -> Any:
    """``text`` as ``param``'s type, or None when typer should judge it."""
    if not text or text.startswith("-"):
        return None
    if param.kind is int:
        return int(text) if text.isascii() and text.isdigit() and str(int(text)) == text else None
    return Path(text) if param.kind is Path else text


def direct_call(commands: dict[str, Callable[..., Any]],
                args: list[str] | None = None) -> Callable[[], Any] | None:
    """The call typer would make for the command line ``args`` (``sys.argv[1:]`` by default) when
    it names one of ``commands`` (name -> the command's function) and the rest is read here;
    otherwise None: typer must parse it (shell completion included)."""
    args = sys.argv[1:] if args is None else args
    fn = commands.get(args[0]) if args else None
    if fn is None or any(name.startswith("_") and name.endswith("_COMPLETE") for name in os.environ):
        return None
    return _call(args[1:], fn)


def run_as_typer(root: Callable[[], Any], call: Callable[[], Any]) -> None:
    """Run the app's callback ``root`` (given no options) and then ``call``, ending as typer ends a
    command: a ``typer.Exit`` exits with its code, Ctrl-C with 130."""
    import typer

    try:
        root()
        call()
    except typer.Exit as exc:
        raise SystemExit(exc.exit_code) from None
    except KeyboardInterrupt:
        raise SystemExit(130) from None


def _call(args: list[str], fn: Callable[..., Any]) -> Callable[[], Any] | None:
    """The call of ``fn`` for the command line ``args`` (what follows the command's name), or None."""
    signature = _signature(fn)
    if signature is None:
        return None
    arguments, options = signature
    values: dict[str, Any] = {}
    positional = iter(arguments)
    rest = list(args)
    while rest:
        token = rest.pop(0)
        if not token.startswith("-"):
            param = next(positional, None)
            if param is None:
                return None
            value = _value(param, token)
        else:
            spelling, eq, inline = token.partition("=")
            param = options.get(spelling)
            if param is None or param.name in values:
                return None
            if param.kind is bool:
                if eq:
                    return None
                value = param.flag_values[spelling]
            else:
                if not eq:
                    if not rest:
                        return None
                    inline = rest.pop(0)
                value = _value(param, inline)
        if value is None:
            return None
        values[param.name] = value
    if any(param.name not in values for param in arguments):
        return None  # a missing argument: typer says which
    return functools.partial(fn, **values)
