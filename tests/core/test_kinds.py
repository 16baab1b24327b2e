"""Every kind is whole, and only its own modules and the tables name it.

A trigger kind is one module per layer (``triggers/``, ``synth/``, ``runtime/``, ``local/``) plus
one entry in each layer's table; a resource kind likewise (``resources/``, ``synth/``,
``local/``). These tests enumerate the registered kinds and fail when one is half added, or when a
module outside a kind's own modules and the tables names a specific kind's class.
"""

from __future__ import annotations

import ast
import inspect
from pathlib import Path
from typing import get_args

import pytest

import flowfn
import flowfn.runtime
from flowfn import App, Bucket, EventBus, Queue, Stream, Table, Topic
from flowfn.local import kinds as local_kinds
from flowfn.local import resource_kinds as local_resources
from flowfn.resources import Resource
from flowfn.runtime.adapters import ADAPTERS
from flowfn.synth import kinds as synth_kinds
from flowfn.synth import resource_kinds as synth_resources
from flowfn.triggers.base import Invocation, Trigger

PACKAGE = Path(flowfn.__file__).parent
TRIGGERS = list(synth_kinds.TABLE)
RESOURCES = list(synth_resources.RESOURCES)

#: Modules that may name every kind: the tables, and the public surface that offers each kind by
#: name (the decorators and the registry's typed accessors, the test harness's per-kind helpers,
#: the package's exports, the resource declarations).
TABLES = {
    "synth/kinds.py", "synth/resource_kinds.py", "local/kinds.py", "local/resource_kinds.py",
    "triggers/__init__.py",
}
PUBLIC = {"__init__.py", "app.py", "decorators.py", "testing.py", "resources/__init__.py"}


def _module_of(obj: object) -> str:
    return Path(inspect.getfile(obj)).relative_to(PACKAGE).as_posix()  # type: ignore[arg-type]


def _own_modules(cls: type) -> set[str]:
    """A kind's own modules: where its spec and each layer's pieces are defined."""
    own = {_module_of(cls)}
    if cls in synth_kinds.TABLE:
        synth = synth_kinds.TABLE[cls]
        local = local_kinds.TABLE[cls]
        pieces = [synth.wire, synth.needs, synth.graph, ADAPTERS[cls.kind], local.sample]
    else:
        res = synth_resources.RESOURCES[cls]
        loc = local_resources.RESOURCES[cls]
        pieces = [res.declare, res.physical, res.grant_target, res.target_arn, res.graph, loc.provision,
                  loc.physical, loc.name]
    return own | {_module_of(p) for p in pieces}


def test_every_trigger_kind_has_every_layers_piece() -> None:
    assert TRIGGERS, "no trigger kinds registered"
    assert set(TRIGGERS) == set(local_kinds.TABLE), "synth and run-local know different trigger kinds"
    assert {t.kind for t in TRIGGERS} == set(ADAPTERS), "the runtime knows different trigger kinds"
    for cls in TRIGGERS:
        assert cls.kind != Trigger.kind and cls.kind, f"{cls.__name__} names no kind"
        assert getattr(cls, "invocation", None) in get_args(Invocation), \
            f"{cls.__name__} does not declare how Lambda invokes it (sync, async or poll)"
        assert cls.describe is not Trigger.describe, f"{cls.__name__} has no description for `flowfn list`"
        synth = synth_kinds.TABLE[cls]
        assert callable(synth.wire) and callable(synth.needs) and callable(synth.graph)
        assert callable(ADAPTERS[cls.kind])
        local = local_kinds.TABLE[cls]
        assert callable(local.source) and callable(local.sample)


def test_every_resource_kind_has_every_layers_piece() -> None:
    assert RESOURCES, "no resource kinds registered"
    assert set(RESOURCES) == set(local_resources.RESOURCES), "synth and run-local know different kinds"
    for cls in RESOURCES:
        assert cls.kind != Resource.kind and cls.kind, f"{cls.__name__} names no kind"
        assert cls.accesses, f"{cls.__name__} grants nothing"
        assert cls.env_format, f"{cls.__name__} has no environment binding"
        synth = synth_resources.RESOURCES[cls]
        assert set(synth.actions) == set(cls.accesses), f"{cls.__name__}: IAM actions for every grant"
        assert all(synth.actions.values()), f"{cls.__name__}: a grant without IAM actions"
        assert synth.target_kinds and synth.physical_max > 0


@pytest.mark.parametrize("cls", TRIGGERS, ids=lambda c: c.kind)
def test_a_trigger_kinds_sample_event_reaches_its_adapter(cls: type[Trigger]) -> None:
    # The sample of each kind is an event its own adapter accepts, shaped as AWS sends it.
    app = _app_with_every_kind()
    handler = next(h for h in app.handlers if type(h.trigger) is cls)
    event = local_kinds.TABLE[cls].sample(handler, {}, "us-east-1")
    flowfn.runtime.dispatch(handler, event, None)


def _app_with_every_kind() -> App:
    app = App("kinds")

    @app.on_s3(Bucket("uploads"))
    def on_upload(record: object) -> None: ...

    @app.on_sqs(Queue("jobs"))
    def on_job(record: object) -> None: ...

    @app.on_schedule("rate(1 hour)")
    def hourly() -> None: ...

    @app.on_http("GET", "/items/{id}")
    def item(request: object) -> dict[str, str]:
        return {"ok": "yes"}

    @app.on_kinesis(Stream("clicks"))
    def on_click(record: object) -> None: ...

    @app.on_dynamodb_stream(Table("totals", key="pk", stream=True))
    def on_total(record: object) -> None: ...
    @app.on_sns(Topic("ready"))
    def on_ready(record: object) -> None: ...

    @app.on_event({"source": ["shop"]}, bus=EventBus("orders"))
    def on_order(event: object) -> None: ...

    assert {type(h.trigger) for h in app.handlers} == set(TRIGGERS), "a kind is missing here"
    return app


def _names_in(path: Path, names: set[str]) -> set[str]:
    """The kind classes among ``names`` that ``path`` takes from flowfn: imported by name, or read as
    an attribute of a flowfn module it imports (moto's own ``Queue`` is not flowfn's)."""
    found: set[str] = set()
    modules: set[str] = set()  # local names bound to flowfn modules
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.level or (node.module or "").startswith("flowfn")):
            for alias in node.names:
                if alias.name in names:
                    found.add(alias.name)
                else:
                    modules.add(alias.asname or alias.name)
        elif isinstance(node, ast.Import):
            modules.update(a.asname or a.name.split(".")[0] for a in node.names if a.name.startswith("flowfn"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr in names and isinstance(node.value, ast.Name) \
                and node.value.id in modules:
            found.add(node.attr)
    return found


def test_only_a_kinds_own_modules_and_the_tables_name_it() -> None:
    classes: dict[str, type] = {c.__name__: c for c in [*TRIGGERS, *RESOURCES]}
    allowed: dict[str, set[str]] = {name: _own_modules(c) for name, c in classes.items()}
    # A trigger kind's own modules may name the resource kind it is triggered by.
    for trigger in TRIGGERS:
        for name, cls in classes.items():
            if cls in RESOURCES and any(name in _names_in(PACKAGE / m, {name}) for m in [_module_of(trigger)]):
                allowed[name] |= _own_modules(trigger)
    # So may a resource kind's own modules name the kinds its declaration takes (a topic's queues).
    for resource in RESOURCES:
        for name in _names_in(PACKAGE / _module_of(resource), set(classes)):
            if name != resource.__name__ and classes[name] in RESOURCES:
                allowed[name] |= _own_modules(resource)
    stray: dict[str, list[str]] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        module = path.relative_to(PACKAGE).as_posix()
        if module in TABLES | PUBLIC:
            continue
        for name in sorted(_names_in(path, set(classes))):
            if module not in allowed[name]:
                stray.setdefault(module, []).append(name)
    assert stray == {}, (
        "these modules name a specific kind's class; reach the kind through its layer's table "
        f"instead: {stray}"
    )
