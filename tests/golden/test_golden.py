"""Golden templates: each example's synthesized CloudFormation, byte for byte.

``tests/golden/<app>/`` holds the templates of the fixture app and of every ``examples/<name>/app.py``
(found automatically); ``infra/<name>/`` holds the same files for each example, as the deployable
output of the project. After an intended change to the output, review the diff and regenerate both:

    FLOWFN_UPDATE_GOLDEN=1 python -m pytest tests/golden
"""

from __future__ import annotations

import difflib
import os
from pathlib import Path

import pytest

from flowfn.loader import load_app
from flowfn.synth import SynthOptions, render, synth_app

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = Path(__file__).parent
INFRA = ROOT / "infra"
EXAMPLES = {p.parent.name: p for p in sorted((ROOT / "examples").glob("*/app.py"))}
APPS = {"fixture": ROOT / "tests" / "synth" / "fixture_app" / "app.py", **EXAMPLES}
UPDATE = os.environ.get("FLOWFN_UPDATE_GOLDEN") == "1"
#: Golden templates are synthesized for one fixed Python version, whatever runs the tests, and
#: without compiled files in the code asset (their bytes depend on the interpreter's version).
OPTIONS = SynthOptions(python="3.11", bytecode=False)


def synthesized(name: str) -> dict[str, bytes]:
    app = load_app(str(APPS[name]), fresh=True)
    return synth_app(app, OPTIONS).synthesis.files()


def _explain(name: str, folder: Path, fresh: dict[str, bytes]) -> str:
    have = {p.name: p.read_bytes() for p in folder.glob("*")} if folder.is_dir() else {}
    lines = [f"the synthesized templates of {name!r} differ from {folder.relative_to(ROOT)}/:"]
    for file in sorted(set(have) | set(fresh)):
        if file not in have:
            lines.append(f"  {file}: missing there")
        elif file not in fresh:
            lines.append(f"  {file}: no longer synthesized")
        elif have[file] != fresh[file]:
            diff = difflib.unified_diff(have[file].decode().splitlines(), fresh[file].decode().splitlines(),
                                        "golden", "now", n=1, lineterm="")
            lines.append(f"  {file}:\n" + "\n".join("    " + d for d in list(diff)[:40]))
    lines.append("If the change is intended, review it and regenerate: FLOWFN_UPDATE_GOLDEN=1 python -m "
                 "pytest tests/golden")
    return "\n".join(lines)


def _check(name: str, folder: Path, fresh: dict[str, bytes]) -> None:
    have = {p.name: p.read_bytes() for p in folder.glob("*")} if folder.is_dir() else {}
    if have == fresh:
        return
    if UPDATE:
        folder.mkdir(parents=True, exist_ok=True)
        for stale in set(have) - set(fresh):
            (folder / stale).unlink()
        for file, data in fresh.items():
            (folder / file).write_bytes(data)
        return
    pytest.fail(_explain(name, folder, fresh), pytrace=False)


@pytest.mark.parametrize("name", sorted(APPS))
def test_template_matches_golden(name: str) -> None:
    _check(name, GOLDEN / name, synthesized(name))


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_infra_holds_the_current_template(name: str) -> None:
    _check(name, INFRA / name, synthesized(name))


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_example_templates_lint_clean(name: str) -> None:
    from cfnlint.api import lint

    app = load_app(str(APPS[name]), fresh=True)
    synthesis = synth_app(app, OPTIONS).synthesis
    for template in [synthesis.template, *synthesis.nested.values()]:
        found = [f"{m.rule.id} {m.message} ({m.path})" for m in lint(render(template).decode())]
        assert found == [], f"{name}: {found}"


def test_goldens_belong_to_an_app() -> None:
    # infra/bootstrap is the deploy assets stack, held to flowfn's own by tests/deploy.
    for folder, known in ((GOLDEN, APPS), (INFRA, [*EXAMPLES, "bootstrap"])):
        orphans = sorted(p.name for p in folder.iterdir() if p.is_dir() and p.name not in known
                         and not p.name.startswith(("_", ".")))
        assert orphans == [], f"{folder.relative_to(ROOT)} holds templates of apps that are gone: {orphans}"
