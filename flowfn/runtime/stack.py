"""Tracebacks for log lines, formatted cheaply.

Python 3.11's ``traceback`` module re-reads each file's status and compiles every source line of a
traceback to place its ``^^^`` markers, about half a millisecond per failure: an SQS batch with
failing messages would pay that for each one. This writes the familiar text (chained exceptions,
notes, repeated lines folded) from the traceback objects and linecache's cached source, without
the markers. A file's status is checked once per code object, and each line's text is kept with
its code object: a message failing again costs a lookup per frame. After run-local reloads edited
code, the new code's lines are read afresh. Syntax errors and exception groups, rare at run time,
go to ``traceback``.
"""

from __future__ import annotations

from collections.abc import Callable
from json.encoder import encode_basestring as _string
from typing import Any

__all__ = ["exception_keys", "exception_text", "format_exception"]

_CAUSE = "\nThe above exception was the direct cause of the following exception:\n"
_CONTEXT = "\nDuring handling of the above exception, another exception occurred:\n"
_CUTOFF = 3  # as ``traceback``: a line repeated more often than this is folded
_OWN_TEXT = (SyntaxError, BaseExceptionGroup)  # formatted by ``traceback``
_ESCAPED_NEWLINE = _string("\n")[1:-1]

#: Each frame's text (as a line of the traceback, and as it is written inside a JSON string), for
#: each code object whose file linecache has checked since it was made: id -> the frame's last
#: instruction -> ((file, line, name), (text, JSON)). Kept by instruction, which a traceback holds,
#: rather than by line, which it works out from the code's line table on every read. A code
#: object's entry leaves when it is freed (a weak reference's callback, kept in _refs), before its
#: id can be reused.
_frames: dict[int, dict[int, tuple[tuple[str, int | None, str], tuple[str, str]]]] = {}
_refs: dict[int, object] = {}


def exception_keys(exc: BaseException) -> dict[str, Any]:
    """The keys a log line carries for ``exc``, named as Powertools names them for ``exc_info``.

    ``exception``: the traceback text; ``exception_name``: the exception's class name;
    ``exception_notes``: its notes, when it has any.
    """
    keys: dict[str, Any] = {"exception": format_exception(exc), "exception_name": type(exc).__name__}
    notes = getattr(exc, "__notes__", None)
    if notes:
        keys["exception_notes"] = notes
    return keys


def exception_text(exc: BaseException) -> str:
    """``str(exc)``, or ``<exception str() failed>`` (as Python's traceback writes it) when that raises."""
    return _text(exc, "exception")


def format_exception(exc: BaseException, json: bool = False) -> str:
    """``exc`` with its traceback and the exceptions it was raised from, as Python prints them.

    With ``json=True``, that text as a JSON string (quoted; what ``json.dumps(text,
    ensure_ascii=False)`` writes), put together from each frame's text escaped once.
    """
    form = 1 if json else 0
    lines: list[str] = []
    if (exc.__cause__ is None and (exc.__context__ is None or exc.__suppress_context__)
            and not isinstance(exc, _OWN_TEXT)):  # raised alone, as most are
        _one(exc, lines, form)
    else:
        chain: list[tuple[BaseException, str]] = []
        seen: set[int] = set()
        current: BaseException | None = exc
        link = ""
        while current is not None and id(current) not in seen:
            if isinstance(current, _OWN_TEXT):
                import traceback

                text = "".join(traceback.format_exception(exc)).rstrip("\n")
                return _string(text) if json else text
            seen.add(id(current))
            chain.append((current, link))
            if current.__cause__ is not None:
                current, link = current.__cause__, _CAUSE
            elif current.__context__ is not None and not current.__suppress_context__:
                current, link = current.__context__, _CONTEXT
            else:
                current = None
        for item, item_link in reversed(chain):
            _one(item, lines, form)
            if item_link:
                lines.append(_string(item_link)[1:-1] if json else item_link)
    if not json:
        return "\n".join(lines)
    lines[0] = '"' + lines[0]  # (a traceback has a line at least: the exception's)
    lines[-1] += '"'
    return _ESCAPED_NEWLINE.join(lines)


def _one(exc: BaseException, lines: list[str], form: int) -> None:
    # ``exc``'s own traceback and lines: as text (form 0), or escaped for a JSON string (form 1).
    tb = exc.__traceback__
    if tb is not None:
        lines.append("Traceback (most recent call last):")
    last: tuple[str, int | None, str] | None = None
    count = 0
    while tb is not None:
        code = tb.tb_frame.f_code
        known = _frames.get(id(code))
        if known is None:  # code new to this process: its file may have changed
            known = _known(code)
        shown = known.get(tb.tb_lasti)
        if shown is None:
            shown = known[tb.tb_lasti] = _frame(code, tb.tb_lineno)
        tb = tb.tb_next
        where = shown[0]
        if where != last:
            if count > _CUTOFF:
                _folded(count, lines)
            last, count = where, 0
        count += 1
        if count <= _CUTOFF:
            lines.append(shown[1][form])
    if count > _CUTOFF:
        _folded(count, lines)
    line = _exception_line(exc)
    notes = getattr(exc, "__notes__", None)
    if notes is None:  # as most have
        lines.append(_string(line)[1:-1] if form else line)
        return
    own = [line]
    if isinstance(notes, (list, tuple)):
        own.extend(_text(note, "note") for note in notes)
    else:
        own.append(_text(notes, "__notes__", repr))
    lines.extend([_string(line)[1:-1] for line in own] if form else own)


def _known(code: Any) -> dict[int, tuple[tuple[str, int | None, str], tuple[str, str]]]:
    import linecache  # on a failure's path only (both loaded with logging anyway)
    import weakref

    key = id(code)

    def forget(_: object) -> None:  # the code object is being freed: its id may be reused
        _frames.pop(key, None)
        _refs.pop(key, None)

    linecache.checkcache(code.co_filename)
    known: dict[int, tuple[tuple[str, int | None, str], tuple[str, str]]] = {}
    _refs[key] = weakref.ref(code, forget)
    _frames[key] = known
    return known


def _frame(code: Any, lineno: int | None) -> tuple[tuple[str, int | None, str], tuple[str, str]]:
    # The frame's line of a traceback, and its source line under it when the file has one.
    import linecache

    filename, name = code.co_filename, code.co_name
    shown = f'  File "{filename}", line {lineno}, in {name}'
    source = linecache.getline(filename, lineno).strip() if lineno else ""
    if source:
        shown = f"{shown}\n    {source}"
    return (filename, lineno, name), (shown, _string(shown)[1:-1])


def _folded(count: int, lines: list[str]) -> None:  # (the same text in JSON)
    more = count - _CUTOFF
    lines.append(f"  [Previous line repeated {more} more time{'s' if more > 1 else ''}]")


def _exception_line(exc: BaseException) -> str:
    kind = type(exc)
    name, module = kind.__qualname__, kind.__module__
    if module not in ("__main__", "builtins"):
        name = f"{module if isinstance(module, str) else '<unknown>'}.{name}"
    value = _text(exc, "exception")
    return f"{name}: {value}" if value else name


def _text(value: object, what: str, show: Callable[[object], str] = str) -> str:
    try:
        return show(value)
    except Exception:
        return f"<{what} str() failed>"
