"""What triggers what, as a Mermaid flowchart: sources into functions, functions into what they
write or send to. Pure."""

from __future__ import annotations

from flowfn.app import App
from flowfn.resources import Access, Resource
from flowfn.synth.context import resource_stems
from flowfn.synth.ids import label as _label
from flowfn.synth.ids import unique_ids
from flowfn.synth.kinds import kind_of
from flowfn.synth.resource_kinds import resource_kind

#: Grants drawn from the function to the resource (it changes the resource), solid when it
#: writes or sends and dotted when it deletes; the others are drawn dotted into the function.
_OUTWARD = {Access.WRITE: "-->", Access.SEND: "-->", Access.PUT: "-->", Access.DELETE: "-.->",
            Access.PUBLISH: "-->", Access.PUT_EVENTS: "-->"}


def mermaid(app: App) -> str:
    """A ``flowchart LR`` of the app, one node per resource, trigger and function."""
    fn_ids = {n: "fn_" + s for n, s in unique_ids(h.name for h in app.handlers).items()}
    res_ids = {key: f"{key[0]}_{stem}" for key, stem in resource_stems(app).items()}
    resources = app.all_resources()

    def rid(res: Resource) -> str:
        return res_ids[(res.kind, res.logical_name)]

    lines = ["flowchart LR"]
    edges = []
    for res in resources:
        suffix = " (existing)" if res.existing else ""
        nodes, own = resource_kind(res).graph(res, rid, f"{res.kind} {res.logical_name}{suffix}")
        lines.extend(nodes)
        edges.extend(own)
    for handler in app.handlers:
        lines.append(f"  {fn_ids[handler.name]}({_label(handler.name)})")
    for handler in app.handlers:
        fn = fn_ids[handler.name]
        nodes, into = kind_of(handler.trigger).graph(handler.trigger, fn, rid)
        lines.extend(nodes)
        edges.extend(into)
        for grant in handler.settings.uses:
            scope = f" {grant.prefix}*" if grant.prefix else ""
            label = _label(grant.access.value + scope)
            arrow = _OUTWARD.get(grant.access)
            if arrow:
                edges.append(f"  {fn} {arrow}|{label}| {rid(grant.resource)}")
            else:
                edges.append(f"  {rid(grant.resource)} -.->|{label}| {fn}")
    return "\n".join(lines + edges) + "\n"
