"""The state one synthesis fills: the root stack's own parts, and one unit per handler.

Wiring modules receive a :class:`Wiring` context for their handler. It hands out expressions for
shared things (bucket names, queue ARNs, the code asset) as placeholders, so a unit reads the same
whether it ends up in the root stack or in a nested one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from flowfn.app import App
from flowfn.errors import FlowfnError
from flowfn.function import Handler
from flowfn.resources import Resource
from flowfn.synth.ids import unique_ids
from flowfn.synth.refs import Exported, Json, Shared


def resource_stems(app: App) -> dict[tuple[str, str], str]:
    """(kind, logical name) -> an id stem unique among the app's resources of that kind."""
    stems: dict[tuple[str, str], str] = {}
    for kind in dict.fromkeys(r.kind for r in app.all_resources()):
        names = [r.logical_name for r in app.all_resources() if r.kind == kind]
        stems.update({(kind, name): stem for name, stem in unique_ids(names).items()})
    return stems


class SynthError(FlowfnError):
    """An app that cannot become a template: a CloudFormation limit, or wiring AWS cannot express."""


@dataclass
class Unit:
    """The resources one handler owns; they move together into a stack."""

    handler: Handler
    resources: dict[str, Json] = field(default_factory=dict)


@dataclass
class Build:
    """Everything generated so far for one app."""

    app: App
    app_name: str
    handler_ids: dict[str, str]
    resource_ids: dict[tuple[str, str], str]
    parameters: dict[str, Json] = field(default_factory=dict)
    resources: dict[str, Json] = field(default_factory=dict)
    outputs: dict[str, Json] = field(default_factory=dict)
    #: Outputs left out first when the root stack would pass CloudFormation's 200.
    optional_outputs: set[str] = field(default_factory=set)
    #: What each Shared key stands for in the root stack.
    shared: dict[str, Json] = field(default_factory=dict)
    units: list[Unit] = field(default_factory=list)
    #: Root resource id -> handler-owned resource ids it must wait for.
    depends: dict[str, list[str]] = field(default_factory=dict)
    #: Bucket id -> its S3 notification entries (with Exported function ARNs).
    notifications: dict[str, list[Json]] = field(default_factory=dict)

    @classmethod
    def start(cls, app: App) -> Build:
        name = app.name or "app"
        handler_ids = unique_ids(h.name for h in app.handlers)
        resource_ids = {key: stem + key[0].capitalize() for key, stem in resource_stems(app).items()}
        return cls(app=app, app_name=name, handler_ids=handler_ids, resource_ids=resource_ids)

    def share(self, key: str, value: Json) -> Shared:
        self.shared.setdefault(key, value)
        return Shared(key)

    def rid(self, res: Resource) -> str:
        """The logical id of a declared resource."""
        return self.resource_ids[(res.kind, res.logical_name)]


@dataclass
class Wiring:
    """What wiring code for one handler works with."""

    build: Build
    unit: Unit

    @property
    def handler(self) -> Handler:
        return self.unit.handler

    @property
    def stem(self) -> str:
        return self.build.handler_ids[self.handler.name]

    def id(self, suffix: str) -> str:
        """The logical id of one of this handler's resources: ``ResizeFunction``, ``ResizeRole``."""
        return self.stem + suffix

    @property
    def function_id(self) -> str:
        return self.id("Function")

    def add(self, suffix: str, type_: str, properties: dict[str, Any], **attributes: Any) -> str:
        logical_id = self.id(suffix)
        body: dict[str, Any] = {"Type": type_, "Properties": properties}
        body.update(attributes)
        self.unit.resources[logical_id] = body
        return logical_id

    def function_arn_for_root(self) -> Exported:
        return Exported(self.function_id, "Arn")
