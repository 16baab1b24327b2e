"""The generator: registry in, templates out. Pure: no I/O, no clock, no randomness."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from flowfn.app import App
from flowfn.synth.context import Build, Unit, Wiring
from flowfn.synth.declared import add_declared, add_failed_events, add_parameters
from flowfn.synth.function import wire_function
from flowfn.synth.iam import Policy, is_async, policy_for
from flowfn.synth.kinds import kind_of
from flowfn.synth.options import SynthOptions
from flowfn.synth.render import render
from flowfn.synth.split import place

__all__ = ["Synthesis", "synthesize"]


@dataclass(frozen=True)
class Synthesis:
    """The templates of one app: the root stack and, when it had to be split, nested stacks.

    ``nested`` maps each nested template's asset file name (which carries its content hash) to
    the template; the root stack reads them from the asset bucket.
    """

    template: dict[str, Any]
    nested: dict[str, dict[str, Any]]
    options: SynthOptions
    policies: dict[str, Policy] = field(default_factory=dict)

    @property
    def template_file(self) -> str:
        return "template." + self.options.format

    def files(self) -> dict[str, bytes]:
        """Every template as bytes, by file name: ``template.json`` and the nested ones."""
        out = {self.template_file: render(self.template, self.options.format)}
        for name, nested in self.nested.items():
            out[name] = render(nested, self.options.format)
        return out


def synthesize(
    app: App,
    options: SynthOptions,
    *,
    code_asset: str,
    layers: Mapping[str, str],
) -> Synthesis:
    """Turn ``app`` into CloudFormation.

    ``code_asset`` is the file name of the code zip, ``layers`` the file name of the dependency
    layer for each architecture; both carry their content hash, and the template reads them from
    the ``AssetBucket`` parameter under ``AssetPrefix``.
    """
    build = Build.start(app)
    layer_names = dict(layers)
    add_parameters(build, code_asset, layer_names, options)
    add_declared(build)
    handlers = app.handlers
    if options.failure_destination and any(is_async(h) for h in handlers):
        add_failed_events(build)
    kinds = list(dict.fromkeys(kind_of(h.trigger) for h in handlers))
    for kind in kinds:
        kind.prepare(build)
    policies: dict[str, Policy] = {}
    for handler in handlers:
        unit = Unit(handler)
        wiring = Wiring(build, unit)
        policies[handler.name] = policy_for(app, handler, failure_destination=options.failure_destination)
        wire_function(wiring, options, layer_names, policies[handler.name])
        kind_of(handler.trigger).wire(wiring, options)
        build.units.append(unit)
    for kind in kinds:
        kind.finish(build)
    count = len(handlers)
    description = f"flowfn app {build.app_name}: {count} function{'s' if count != 1 else ''}."
    placed = place(build, description, lambda t: render(t, options.format), options.format)
    return Synthesis(placed.root, placed.nested, options, policies)
