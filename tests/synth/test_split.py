"""Apps past one stack's limits: nested stacks, or a refusal that names the limit."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from flowfn.app import App, AppOrigin
from flowfn.resources import Bucket
from flowfn.synth import SynthError, Synthesis, SynthOptions, render, synthesize
from flowfn.synth.refs import Exported, Shared, references
from flowfn.synth.split import MAX_OUTPUTS, MAX_PARAMETERS, MAX_RESOURCES, MAX_TEMPLATE_BYTES

CODE, LAYERS = "code-0123456789abcdef.zip", {"arm64": "deps-arm.zip", "x86_64": "deps-x86.zip"}


def test_200_handlers_split_into_nested_stacks_within_limits(big_synth: Synthesis) -> None:
    root = big_synth.template
    stacks = {rid: b for rid, b in root["Resources"].items() if b["Type"] == "AWS::CloudFormation::Stack"}
    assert len(stacks) == len(big_synth.nested) >= 2
    functions = 0
    for template in [root, *big_synth.nested.values()]:
        assert len(template["Resources"]) <= MAX_RESOURCES
        assert len(template.get("Parameters", {})) <= MAX_PARAMETERS
        assert len(template.get("Outputs", {})) <= MAX_OUTPUTS
        assert len(render(template)) <= MAX_TEMPLATE_BYTES
        functions += sum(b["Type"] == "AWS::Lambda::Function" for b in template["Resources"].values())
    assert functions == 200


def test_root_passes_each_nested_stack_exactly_its_parameters(big_synth: Synthesis) -> None:
    root = big_synth.template
    for body in root["Resources"].values():
        if body["Type"] != "AWS::CloudFormation::Stack":
            continue
        url = body["Properties"]["TemplateURL"]["Fn::Sub"]
        name = url.rsplit("}", 1)[-1]
        nested = big_synth.nested[name]
        assert set(body["Properties"]["Parameters"]) == set(nested["Parameters"])
        # Every name a nested template refers to is its own resource or parameter.
        known = set(nested["Resources"]) | set(nested["Parameters"])
        assert references(nested["Resources"]) <= known
    # Every output the root reads from a nested stack exists there.
    for body in root["Resources"].values():
        for ref in _getatts(body):
            if ref[1].startswith("Outputs."):
                stack = root["Resources"][ref[0]]["Properties"]["TemplateURL"]["Fn::Sub"].rsplit("}", 1)[-1]
                assert ref[1].removeprefix("Outputs.") in big_synth.nested[stack]["Outputs"]


def _getatts(value: Any) -> list[list[str]]:
    out = []
    if isinstance(value, dict):
        for key, inner in value.items():
            if key == "Fn::GetAtt":
                out.append(inner)
            else:
                out += _getatts(inner)
    elif isinstance(value, list):
        for inner in value:
            out += _getatts(inner)
    return out


def test_nested_file_names_carry_their_content_hash(big_synth: Synthesis) -> None:
    import hashlib

    for name, template in big_synth.nested.items():
        assert hashlib.sha256(render(template)).hexdigest()[:16] in name


def test_small_app_stays_in_one_stack(fixture_synth: Synthesis) -> None:
    assert fixture_synth.nested == {}


def test_too_many_declared_resources_are_refused(big_app_factory: Callable[..., App]) -> None:
    app = App("hoard")
    app.declare(*[Bucket(f"b-{i}") for i in range(520)])
    app.on_schedule("rate(1 hour)", name="tick")(lambda: None)
    app.origin = AppOrigin(root=".", module="hoard")
    with pytest.raises(SynthError, match=r"over CloudFormation's 500 per stack.*split the app"):
        synthesize(app, SynthOptions(), code_asset=CODE, layers=LAYERS)


@pytest.mark.parametrize("resources", [
    {},
    {"A": {"Type": "AWS::SQS::Queue", "Properties": {}}},
    {"F": {"Type": "AWS::Lambda::Function", "Properties": {
        "Environment": {"Variables": {"BUCKET": Shared("UploadsName"), "EMPTY": "", "NAME": "café ✓"}},
        "Layers": [], "Tags": [{"Key": "k", "Value": "v"}], "Nested": [[[1, 2.5, None, True]], {}],
        "Arn": Exported("Queue", "Arn"), "Both": [Shared("X"), {"Ref": Shared("Y")}, ("t", 1)]}}},
])
def test_a_units_price_is_its_text_as_indented_json(resources: dict[str, Any]) -> None:
    # The price is worked out without rendering; it must be what rendering with indent=2 writes.
    from types import SimpleNamespace

    from flowfn.synth.refs import placeholders, ref, resolve
    from flowfn.synth.split import _unit_cost

    count, keys, outputs, size = _unit_cost(SimpleNamespace(resources=resources), [])  # type: ignore[arg-type]
    assert size == len(json.dumps(resolve(resources, lambda p: ref("P" * 40)), indent=2))
    assert keys == {p.key for p in placeholders(resources) if isinstance(p, Shared)}
    assert (count, outputs) == (len(resources), 0)
