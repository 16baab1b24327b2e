"""Event buses in the emulator: named by their logical name (or the existing name), bound by ARN."""

from __future__ import annotations

from flowfn.app import App
from flowfn.local.provision import Bindings
from flowfn.resources import EventBus, Resource


def eventbus_name(res: Resource) -> str:
    """A bus's local name: the existing bus's name (``default``), or its logical name."""
    assert isinstance(res, EventBus)
    return res.existing_name or res.logical_name


def provision_eventbuses(app: App, out: Bindings, resources: list[Resource]) -> None:
    """Create the custom buses that do not exist yet (the default bus always does); record ARNs."""
    events = out.target.client("events")
    for bus in resources:
        name = eventbus_name(bus)
        try:
            arn = events.describe_event_bus(Name=name)["Arn"]
        except events.exceptions.ResourceNotFoundException:
            arn = events.create_event_bus(Name=name)["EventBusArn"]
        out.arns[("eventbus", bus.logical_name)] = arn


def eventbus_physical(bindings: Bindings, res: Resource) -> str:
    """What a function's environment carries for a bus: its ARN."""
    return bindings.arns[("eventbus", res.logical_name)]
