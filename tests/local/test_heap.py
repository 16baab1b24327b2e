"""The start-up heap left out of full collections while an app runs locally (``freeze_heap``)."""

from __future__ import annotations

import gc
import sys
import weakref
from collections.abc import Iterator
from pathlib import Path

import pytest

from flowfn.local import heap
from flowfn.local.engine import LocalApp, Options


@pytest.fixture(autouse=True)
def _nothing_frozen() -> Iterator[None]:
    assert heap.frozen() == 0, "a test before this one left objects frozen"
    yield
    gc.unfreeze()


class _Node:
    def __init__(self) -> None:
        self.me = self  # a cycle: only the collector frees it


def test_freezes_are_counted_and_the_last_thaw_hands_objects_back() -> None:
    heap.freeze()
    held = heap.frozen()
    assert held > 0
    heap.freeze()
    heap.thaw()
    assert heap.frozen() == held  # the other holder still runs
    heap.thaw()
    assert heap.frozen() == 0
    heap.thaw()  # one too many: nothing to leave
    assert heap.frozen() == 0


def test_a_heap_the_process_froze_itself_is_left_as_it_is() -> None:
    gc.freeze()
    held = heap.frozen()
    heap.freeze()
    heap.refreeze()
    heap.thaw()
    assert heap.frozen() == held


def test_refreeze_collects_garbage_made_of_frozen_objects() -> None:
    node = _Node()
    gone = weakref.ref(node)
    heap.freeze()
    del node
    gc.collect()
    assert gone() is not None  # frozen: the collector does not look at it
    heap.refreeze()
    assert gone() is None
    assert heap.frozen() > 0
    heap.thaw()


APP = """
from flowfn import App

app = App("frozen")


@app.on_schedule("rate(1 day)", enabled=False)
def job():
    return "{version}"
"""


def test_a_run_freezes_its_start_and_a_reload_frees_the_old_code(tmp_path: Path) -> None:
    module = tmp_path / "frozen_app.py"
    module.write_text(APP.format(version="v1"))
    local = LocalApp(str(module), Options(freeze_heap=True, permissions="off"))
    local.start()
    try:
        assert heap.frozen() > 0
        old = weakref.ref(local.app.handlers[0].fn)
        module.write_text(APP.format(version="v2"))
        local.reload()
        # The old module's function sits in a cycle (its globals hold it): only a collection
        # over the thawed heap frees it.
        assert old() is None
        assert heap.frozen() > 0
        assert local.invoker.invoke(local.app.handlers[0], {}, source="test").result == "v2"
    finally:
        local.stop()
        sys.modules.pop("frozen_app", None)
    assert heap.frozen() == 0


def test_runs_without_the_option_freeze_nothing() -> None:
    from flowfn import App

    app = App("plain")

    @app.on_schedule("rate(1 day)", enabled=False)
    def job() -> None:
        return None

    with LocalApp(app, Options(permissions="off")):
        assert heap.frozen() == 0
