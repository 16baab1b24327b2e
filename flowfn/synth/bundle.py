"""Dependencies a function needs that Lambda's Python runtime lacks, as one layer per architecture.

The layer holds Powertools and pydantic (pinned to the versions flowfn runs with here) and the
app's own ``requirements.txt``, as manylinux wheels for the functions' Python version and
architecture, fetched with ``pip download --only-binary=:all: --platform ...`` and cached between
runs. boto3, botocore and s3transfer are never bundled: the runtime provides them.

A layer's name carries a hash of what defines it (Python version, architecture, requirements), so
the template can name it without fetching anything; only building it needs pip and an index.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from flowfn.app import App
from flowfn.synth.asset import write_zip
from flowfn.synth.context import SynthError

#: What the flowfn runtime imports beyond the standard library and boto3.
RUNTIME_DISTRIBUTIONS = ("aws-lambda-powertools", "pydantic")
#: Provided by Lambda's Python runtime; never bundled.
PROVIDED = frozenset({"boto3", "botocore", "s3transfer"})
_PLATFORMS = {"arm64": "aarch64", "x86_64": "x86_64"}


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def requirement_name(line: str) -> str:
    """The canonical distribution name a requirement line asks for: ``Pillow>=10`` -> ``pillow``."""
    return canonical(re.split(r"[\s<>=!~;\[@]", line, maxsplit=1)[0])


def user_requirements(root: Path) -> tuple[str, ...]:
    """The requirement lines of ``requirements.txt`` in the app's folder, if it has one."""
    path = root / "requirements.txt"
    if not path.is_file():
        return ()
    out = []
    for number, raw in enumerate(path.read_text().splitlines(), start=1):
        line = raw.split(" #", 1)[0].strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("-"):
            raise SynthError(
                f"{path}, line {number}: pip options ({line.split()[0]}) are not supported in a "
                "function's requirements; list one requirement per line, such as 'Pillow>=10'"
            )
        if requirement_name(line) not in PROVIDED:
            out.append(line)
    return tuple(out)


@dataclass(frozen=True)
class DepsSpec:
    """What defines one dependency layer."""

    python: str
    arch: str
    requirements: tuple[str, ...]

    @property
    def digest(self) -> str:
        text = json.dumps([self.python, self.arch, sorted(self.requirements)])
        return hashlib.sha256(text.encode()).hexdigest()

    @property
    def name(self) -> str:
        return f"deps-py{self.python}-{self.arch}-{self.digest[:16]}.zip"

    def platforms(self) -> tuple[str, ...]:
        """manylinux tags the Lambda image for this Python version can load."""
        machine = _PLATFORMS[self.arch]
        tags = [f"manylinux2014_{machine}", f"manylinux_2_17_{machine}"]
        if self.python not in ("3.10", "3.11"):  # python3.12 and later run on Amazon Linux 2023
            tags += [f"manylinux_2_28_{machine}", f"manylinux_2_34_{machine}"]
        return tuple(tags)


def deps_specs(app: App, python: str, requirements: Sequence[str]) -> dict[str, DepsSpec]:
    """One spec per architecture the app's functions use."""
    arches = sorted({h.settings.architecture for h in app.handlers})
    reqs = tuple(requirements)
    return {arch: DepsSpec(python, arch, reqs) for arch in arches}


def default_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/flowfn``, else ``~/.cache/flowfn``."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "flowfn"


def _wheel_entries(wheel: Path) -> list[tuple[str, bytes]]:
    entries = []
    with zipfile.ZipFile(wheel) as zf:
        for info in zf.infolist():
            if info.is_dir() or "__pycache__" in info.filename:
                continue
            name = info.filename
            parts = name.split("/")
            if parts[0].endswith(".data"):
                if len(parts) < 3 or parts[1] not in ("purelib", "platlib"):
                    continue  # scripts, headers and data files have no place in a layer
                name = "/".join(parts[2:])
            entries.append(("python/" + name, zf.read(info)))
    return entries


def layer_entries(wheels: Sequence[Path]) -> list[tuple[str, bytes]]:
    """The files of a layer: each wheel unpacked under ``python/``, provided packages left out."""
    entries: dict[str, bytes] = {}
    for wheel in sorted(wheels):
        if canonical(wheel.name.split("-")[0]) in PROVIDED:
            continue
        entries.update(_wheel_entries(wheel))
    return sorted(entries.items())


def build_layer(
    spec: DepsSpec,
    cache_dir: Path,
    *,
    pip_args: Sequence[str] = (),
    python_exe: str = sys.executable,
) -> Path:
    """The layer zip for ``spec``, from the cache or built with pip into it.

    ``pip_args`` go to ``pip download`` as they are (``--index-url``, ``--no-index
    --find-links DIR``). Raises SynthError with pip's own message when it cannot resolve.
    """
    target = cache_dir / "layers" / spec.name
    if target.is_file():
        return target
    wheels = cache_dir / "wheels" / spec.digest[:16]
    wheels.mkdir(parents=True, exist_ok=True)
    abi = "cp" + spec.python.replace(".", "")
    cmd = [python_exe, "-m", "pip", "download", "--quiet", "--disable-pip-version-check",
           "--only-binary=:all:", "--python-version", spec.python, "--implementation", "cp",
           "--abi", abi, "--dest", str(wheels)]
    for platform in spec.platforms():
        cmd += ["--platform", platform]
    cmd += [*pip_args, *spec.requirements]
    if spec.requirements:
        done = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            tail = (done.stderr or done.stdout).strip().splitlines()[-6:]
            raise SynthError(
                f"pip could not fetch the {spec.arch} wheels for Python {spec.python} of "
                f"{', '.join(spec.requirements)}:\n  " + "\n  ".join(tail) + "\nEvery requirement "
                "needs a manylinux wheel for that platform (pip install --only-binary=:all:); pin a "
                "version that has one, or drop the requirement"
            )
    data = write_zip(layer_entries(sorted(wheels.glob("*.whl"))))
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".partial")
    partial.write_bytes(data)
    partial.replace(target)
    return target
