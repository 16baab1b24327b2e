"""From a loaded app to everything ``flowfn synth`` writes: templates, code zip, layers.

Reads the app's files and (only when asked to bundle) runs pip; the template itself comes from the
pure generator.
"""

from __future__ import annotations

import importlib.metadata
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from flowfn.app import App
from flowfn.synth.allowlist import is_asset_name as is_asset_name  # where the CLI finds it
from flowfn.synth.asset import CodeAsset, collect_code, interpreter_for
from flowfn.synth.bundle import (
    RUNTIME_DISTRIBUTIONS,
    DepsSpec,
    build_layer,
    default_cache_dir,
    deps_specs,
    requirement_name,
    user_requirements,
)
from flowfn.synth.context import SynthError
from flowfn.synth.generator import Synthesis, synthesize
from flowfn.synth.options import SynthOptions, current_python

#: Lambda's limit on a function's code and layers together, unzipped.
MAX_UNZIPPED_BYTES = 262_144_000
#: Where assets go inside the output folder; upload its files under the AssetPrefix.
ASSET_DIR = "assets"
_FALLBACK_PINS = {"aws-lambda-powertools": "aws-lambda-powertools>=3.0", "pydantic": "pydantic>=2.6"}


def runtime_requirements() -> tuple[str, ...]:
    """The runtime's dependencies as flowfn's own metadata declares them (ranges, not pins, so
    the layer's definition does not change with whatever happens to be installed here)."""
    declared = {}
    try:
        for line in importlib.metadata.requires("flowfn") or []:
            if ";" in line:
                continue
            declared[requirement_name(line)] = line.replace(" ", "")
    except importlib.metadata.PackageNotFoundError:
        pass
    return tuple(declared.get(d, _FALLBACK_PINS[d]) for d in RUNTIME_DISTRIBUTIONS)


@dataclass(frozen=True)
class Output:
    """One synthesis with its assets. ``layers`` are built only when bundling was asked for."""

    synthesis: Synthesis
    code: CodeAsset
    specs: dict[str, DepsSpec]
    layers: dict[str, Path] = field(default_factory=dict)
    #: The Python that compiled the asset's bytecode; None when it ships source only.
    compiled_by: str | None = None

    @property
    def missing_layers(self) -> list[str]:
        """Layer asset names the template refers to that this run did not build."""
        return [s.name for arch, s in sorted(self.specs.items()) if arch not in self.layers]

    def files(self) -> dict[str, bytes]:
        """Every file to write, by path relative to the output folder."""
        out = {}
        for name, data in self.synthesis.files().items():
            out[name if name == self.synthesis.template_file else f"{ASSET_DIR}/{name}"] = data
        out[f"{ASSET_DIR}/{self.code.name}"] = self.code.zip_bytes()
        for arch, path in sorted(self.layers.items()):
            out[f"{ASSET_DIR}/{self.specs[arch].name}"] = path.read_bytes()
        return out


def synth_app(
    app: App,
    options: SynthOptions,
    *,
    bundle: bool = False,
    cache_dir: Path | None = None,
    pip_args: Sequence[str] = (),
    exclude: Sequence[Path] = (),
) -> Output:
    """Freeze ``app``, collect its code, name its layers, synthesize, and build layers if asked."""
    if app.origin is None:
        raise SynthError(f"{app!r} has no origin folder; load it with flowfn.loader.load_app(...)")
    app.freeze()
    # Bytecode is the functions' Python's own: compiled by it, when it is the one running or is installed.
    interpreter = interpreter_for(options.python) if options.bytecode else None
    code = collect_code(app, exclude=exclude, bytecode=interpreter is not None, interpreter=interpreter)
    requirements = runtime_requirements() + user_requirements(Path(app.origin.root))
    specs = deps_specs(app, options.python, requirements)
    synthesis = synthesize(app, options, code_asset=code.name,
                           layers={arch: spec.name for arch, spec in specs.items()})
    layers = {}
    if bundle:
        cache = cache_dir or default_cache_dir()
        layers = {arch: build_layer(spec, cache, pip_args=pip_args) for arch, spec in specs.items()}
        check_size(code, layers)
    return Output(synthesis, code, specs, layers, compiled_by=interpreter)


def source_only_note(options: SynthOptions, output: Output) -> str | None:
    """What to tell the user when bytecode was asked for but no Python of the functions' version
    could compile it, so the code ships as source; None otherwise."""
    if not options.bytecode or output.compiled_by is not None:
        return None
    version = options.python
    return (f"the code ships as source only: no Python {version} here to compile it (the running "
            f"Python is {current_python()}, and python{version} is not on the PATH), so each cold "
            f"start compiles it first (20-30 ms for a small app). Install Python {version} and "
            "synth again to ship .pyc files, or pass --no-bytecode to ship source on purpose.")


def check_size(code: CodeAsset, layers: dict[str, Path]) -> None:
    """Refuse code plus a layer that Lambda would not unpack (250 MB unzipped)."""
    code_size = sum(len(data) for _, data in code.entries)
    for arch, path in sorted(layers.items()):
        with zipfile.ZipFile(path) as zf:
            total = code_size + sum(i.file_size for i in zf.infolist())
        if total > MAX_UNZIPPED_BYTES:
            raise SynthError(
                f"the code ({code_size} bytes) and the {arch} dependency layer unzip to {total} bytes, "
                f"over Lambda's {MAX_UNZIPPED_BYTES} (250 MB); drop large requirements or move data "
                "files to a bucket"
            )
