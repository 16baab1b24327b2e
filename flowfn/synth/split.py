"""Placing handler units: inline in the root stack when it fits CloudFormation's limits, else in
nested stacks that the root stack passes its shared values to as parameters."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flowfn.synth.context import Build, SynthError, Unit
from flowfn.synth.refs import Exported, Json, Shared, getatt, placeholders, ref, references, resolve, sub

#: CloudFormation's quotas per stack.
MAX_RESOURCES = 500
MAX_PARAMETERS = 200
MAX_OUTPUTS = 200
#: Resources per nested stack: CloudFormation allows 500, but smaller stacks deploy in parallel
#: and keep every template quick to check.
NESTED_RESOURCES = 200
#: Largest template CloudFormation reads from S3 (1 MB), less a margin for the stack's own fields.
MAX_TEMPLATE_BYTES = 1_000_000


@dataclass
class Placed:
    """The root template and the nested templates, by their asset file names."""

    root: dict[str, Any]
    nested: dict[str, dict[str, Any]] = field(default_factory=dict)


def _template(description: str, parameters: dict[str, Json], resources: dict[str, Json],
              outputs: dict[str, Json]) -> dict[str, Any]:
    out: dict[str, Any] = {"AWSTemplateFormatVersion": "2010-09-09", "Description": description}
    if parameters:
        out["Parameters"] = parameters
    out["Resources"] = resources
    if outputs:
        out["Outputs"] = outputs
    return out


def _with_depends(resources: dict[str, Json], depends: dict[str, list[str]],
                  rename: Callable[[str], str]) -> None:
    for rid, needs in depends.items():
        body = resources[rid]
        wanted = sorted({rename(n) for n in needs} - references(body))
        if wanted:
            body["DependsOn"] = wanted


def problems(template: dict[str, Any], size: int) -> list[str]:
    """Which of CloudFormation's per-stack limits ``template`` passes."""
    found = []
    counts = (("resources", "Resources", MAX_RESOURCES), ("parameters", "Parameters", MAX_PARAMETERS),
              ("outputs", "Outputs", MAX_OUTPUTS))
    for label, key, limit in counts:
        if len(template.get(key, {})) > limit:
            found.append(f"{len(template[key])} {label}, over CloudFormation's {limit} per stack")
    if size > MAX_TEMPLATE_BYTES:
        found.append(f"{size} bytes of template, over CloudFormation's {MAX_TEMPLATE_BYTES}")
    return found


def place(build: Build, description: str, render: Callable[[dict[str, Any]], bytes], ext: str) -> Placed:
    """Inline every unit when the one stack fits, else pack units into nested stacks."""
    root_resources = build.resources
    outputs = build.outputs
    if len(outputs) > MAX_OUTPUTS:  # dead-letter queue URLs are the ones to do without
        outputs = {k: v for k, v in outputs.items() if k not in build.optional_outputs}
        build.outputs = outputs
    inline: dict[str, Json] = dict(root_resources)
    for unit in build.units:
        inline.update(unit.resources)

    def inline_value(p: Shared | Exported) -> Json:
        return build.shared[p.key] if isinstance(p, Shared) else getatt(p.logical_id, p.attribute)

    resolved = {rid: resolve(body, inline_value) for rid, body in inline.items()}
    _with_depends(resolved, build.depends, lambda n: n)
    template = _template(description, build.parameters, resolved, outputs)
    # Counts first: a stack already over a count limit is not worth rendering to measure.
    if not problems(template, 0) and not problems(template, len(render(template))):
        return Placed(template)
    return _nested(build, description, render, ext)


#: What a placeholder is priced as: a Ref to a name as long as any parameter's.
_PRICED = ref("P" * 40)


def _layout(value: Json, depth: int, found: list[Shared | Exported]) -> int:
    """What ``indent=2`` adds to ``value``'s text with separators ``(",", ": ")`` at ``depth``: a
    new line and its indentation before each member of a non-empty object or array and before
    its closing bracket. Collects the placeholders met on the way into ``found``."""
    if isinstance(value, Shared | Exported):
        found.append(value)
        value = _PRICED
    if isinstance(value, dict):
        members: Any = value.values()
    elif isinstance(value, list | tuple):
        members = value
    else:
        return 0
    if not members:
        return 0
    total = len(members) * (2 * depth + 3) + 2 * depth + 1
    for member in members:
        total += _layout(member, depth + 1, found)
    return total


def _unit_cost(unit: Unit, exports: list[Exported]) -> tuple[int, set[str], int, int]:
    """Resources, parameters, outputs and bytes the unit adds to a nested stack. The bytes are
    its resources' text as ``json.dumps(..., indent=2)`` writes it (placeholders priced as
    ``_PRICED``), worked out from the C encoder's compact text and the indented layout: the
    indented encoder is written in Python and cost a quarter of synth's time in a large app."""
    found: list[Shared | Exported] = []
    size = len(json.dumps(unit.resources, separators=(",", ": "), default=lambda p: _PRICED))
    size += _layout(unit.resources, 0, found)
    keys = {p.key for p in found if isinstance(p, Shared)}
    return len(unit.resources), keys, len(exports), size


def _pack(build: Build, exports: dict[int, list[Exported]]) -> list[list[int]]:
    chunks: list[list[int]] = []
    totals = (0, set[str](), 0, 0)
    for index, unit in enumerate(build.units):
        n, keys, outs, size = _unit_cost(unit, exports.get(index, []))
        grown = (totals[0] + n, totals[1] | keys, totals[2] + outs, totals[3] + size)
        full = (grown[0] > NESTED_RESOURCES or len(grown[1]) > MAX_PARAMETERS or grown[2] > MAX_OUTPUTS
                or grown[3] > MAX_TEMPLATE_BYTES * 8 // 10)
        if not chunks or full:
            chunks.append([])
            grown = (n, set(keys), outs, size)
        chunks[-1].append(index)
        totals = grown
    return chunks


def _nested(build: Build, description: str, render: Callable[[dict[str, Any]], bytes],
            ext: str) -> Placed:
    owner = {rid: i for i, unit in enumerate(build.units) for rid in unit.resources}
    exports: dict[int, list[Exported]] = {}
    for body in build.resources.values():
        for p in placeholders(body):
            if isinstance(p, Exported) and p not in exports.setdefault(owner[p.logical_id], []):
                exports[owner[p.logical_id]].append(p)
    chunks = _pack(build, exports)
    placed = Placed({})
    stack_of: dict[str, str] = {}
    root = dict(build.resources)
    for number, indexes in enumerate(chunks, start=1):
        stack_id = f"FunctionsStack{number}"
        resources: dict[str, Json] = {}
        for i in indexes:
            resources.update(build.units[i].resources)
        keys = sorted({p.key for p in placeholders(resources) if isinstance(p, Shared)})
        outs = [e for i in indexes for e in exports.get(i, [])]
        for rid in resources:
            stack_of[rid] = stack_id
        names = ", ".join(build.units[i].handler.name for i in indexes)
        nested = _template(
            f"{description} Functions {number} of {len(chunks)}: {names}"[:1024],
            {k: {"Type": "String"} for k in keys},
            resolve(resources, lambda p: ref(p.key) if isinstance(p, Shared) else None),
            {e.output: {"Value": getatt(e.logical_id, e.attribute)} for e in outs},
        )
        body = render(nested)
        found = problems(nested, len(body))
        if found:
            raise SynthError(f"nested stack {number} would hold {'; '.join(found)}")
        name = f"functions-{number}-{hashlib.sha256(body).hexdigest()[:16]}.{ext}"
        placed.nested[name] = nested
        root[stack_id] = {"Type": "AWS::CloudFormation::Stack", "Properties": {
            "TemplateURL": sub("https://${AssetBucket}.s3.${AWS::Region}.${AWS::URLSuffix}/${AssetPrefix}"
                               + name),
            "Parameters": {k: build.shared[k] for k in keys},
        }}
    resolved = {
        rid: resolve(body, lambda p: getatt(stack_of[p.logical_id], "Outputs." + p.output)
                     if isinstance(p, Exported) else build.shared[p.key])
        for rid, body in root.items()
    }
    _with_depends(resolved, build.depends, lambda n: stack_of.get(n, n))
    placed.root = _template(description, build.parameters, resolved, build.outputs)
    found = problems(placed.root, len(render(placed.root)))
    if found:
        raise SynthError(
            f"app {build.app_name!r} does not fit one CloudFormation stack even with its functions in "
            f"{len(chunks)} nested stacks: the root stack would hold {'; '.join(found)}. It declares "
            f"{len(build.app.all_resources())} buckets and queues; split the app into several apps"
        )
    return placed
