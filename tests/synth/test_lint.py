"""cfn-lint reports nothing for the templates synth writes (errors, warnings or notes)."""

from __future__ import annotations

import json
from collections.abc import Callable

from flowfn.app import App
from flowfn.synth import Synthesis, SynthOptions, render, synthesize

CODE, LAYERS = "code-0123456789abcdef.zip", {"arm64": "deps-arm.zip", "x86_64": "deps-x86.zip"}


def test_fixture_template_lints_clean(fixture_synth: Synthesis, lint: Callable[[str], list[str]]) -> None:
    assert lint(render(fixture_synth.template).decode()) == []


def test_yaml_template_lints_clean(fixture_app: App, lint: Callable[[str], list[str]]) -> None:
    files = synthesize(fixture_app, SynthOptions(format="yaml"), code_asset=CODE, layers=LAYERS).files()
    assert lint(files["template.yaml"].decode()) == []


def test_lint_sees_a_broken_template(fixture_synth: Synthesis, lint: Callable[[str], list[str]]) -> None:
    broken = json.loads(render(fixture_synth.template))
    del broken["Resources"]["ResizeFunction"]["Properties"]["Role"]
    broken["Resources"]["JobsQueue"]["Properties"]["VisibilityTimeout"] = 99_999
    found = lint(json.dumps(broken))
    assert any("Role" in f for f in found) and any("99999" in f for f in found), found


def test_every_template_of_a_200_handler_app_lints_clean(
    big_synth: Synthesis, lint_many: Callable[[list[str]], list[list[str]]]
) -> None:
    assert len(big_synth.nested) >= 2
    templates = {"root": big_synth.template, **big_synth.nested}
    found = lint_many([render(t).decode() for t in templates.values()])
    assert dict(zip(templates, found, strict=True)) == {name: [] for name in templates}
