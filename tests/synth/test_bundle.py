"""Dependency layers: manylinux wheels for the functions' platform, cached, never boto3.

Runs pip against a folder of wheels made here (--no-index), never a network index.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest

from flowfn.synth import SynthError
from flowfn.synth.bundle import DepsSpec, build_layer, user_requirements


def make_wheel(folder: Path, name: str, version: str, tag: str, files: dict[str, str],
               requires: tuple[str, ...] = ()) -> Path:
    dist = name.replace("-", "_")
    info = f"{dist}-{version}.dist-info"
    metadata = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n" + "".join(
        f"Requires-Dist: {r}\n" for r in requires)
    wheel = f"Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: {'true' if 'none-any' in tag else 'false'}\nTag: {tag}\n"
    entries = {**files, f"{info}/METADATA": metadata, f"{info}/WHEEL": wheel}
    entries[f"{info}/RECORD"] = "".join(f"{n},,\n" for n in entries) + f"{info}/RECORD,,\n"
    path = folder / f"{dist}-{version}-{tag}.whl"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for entry, text in entries.items():
            zf.writestr(entry, text)
    path.write_bytes(buffer.getvalue())
    return path


@pytest.fixture
def index(tmp_path: Path) -> Path:
    folder = tmp_path / "index"
    folder.mkdir()
    make_wheel(folder, "ffpure", "1.0", "py3-none-any", {"ffpure/__init__.py": "X = 1\n"},
               requires=("boto3",))
    make_wheel(folder, "boto3", "9.9", "py3-none-any", {"boto3/__init__.py": "FAKE = True\n"})
    for machine in ("aarch64", "x86_64"):
        make_wheel(folder, "ffnative", "2.0", f"cp311-cp311-manylinux2014_{machine}",
                   {"ffnative/__init__.py": "", "ffnative/arch.txt": machine,
                    "ffnative-2.0.data/purelib/ffnative/extra.py": "E = 1\n",
                    "ffnative-2.0.data/scripts/tool": "#!/bin/sh\n"})
    return folder


def _names(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as zf:
        return {i.filename: zf.read(i) for i in zf.infolist()}


def test_layer_holds_platform_wheels_without_boto3(index: Path, tmp_path: Path) -> None:
    spec = DepsSpec("3.11", "arm64", ("ffpure", "ffnative==2.0"))
    args = ("--isolated", "--no-index", "--find-links", str(index))
    layer = build_layer(spec, tmp_path / "cache", pip_args=args)
    assert layer.name == spec.name and layer.parent == tmp_path / "cache" / "layers"
    files = _names(layer)
    assert files["python/ffnative/arch.txt"] == b"aarch64"
    assert "python/ffpure/__init__.py" in files and "python/ffnative/extra.py" in files
    assert not any("boto3" in n for n in files), sorted(files)
    assert not any("scripts" in n or n.endswith("/tool") for n in files)
    assert all(n.startswith("python/") for n in files)
    x86 = build_layer(DepsSpec("3.11", "x86_64", spec.requirements), tmp_path / "cache", pip_args=args)
    assert _names(x86)["python/ffnative/arch.txt"] == b"x86_64"
    # Cached: a second build needs no index at all.
    for wheel in index.iterdir():
        wheel.unlink()
    assert build_layer(spec, tmp_path / "cache", pip_args=args) == layer


def test_a_missing_wheel_is_a_clear_error(index: Path, tmp_path: Path) -> None:
    spec = DepsSpec("3.11", "arm64", ("ffnotthere>=1",))
    with pytest.raises(SynthError, match=r"(?s)arm64 wheels for Python 3.11 of ffnotthere>=1.*No matching distribution.*manylinux wheel"):
        build_layer(spec, tmp_path / "cache", pip_args=("--isolated", "--no-index", "--find-links", str(index)))


def test_spec_names_and_platforms() -> None:
    a = DepsSpec("3.11", "arm64", ("pydantic>=2.6", "Pillow>=10"))
    assert a.name == DepsSpec("3.11", "arm64", ("Pillow>=10", "pydantic>=2.6")).name
    assert a.name != DepsSpec("3.12", "arm64", a.requirements).name
    assert a.name.startswith("deps-py3.11-arm64-")
    assert a.platforms() == ("manylinux2014_aarch64", "manylinux_2_17_aarch64")
    assert "manylinux_2_28_x86_64" in DepsSpec("3.13", "x86_64", ()).platforms()


def test_user_requirements(tmp_path: Path) -> None:
    assert user_requirements(tmp_path) == ()
    (tmp_path / "requirements.txt").write_text("# tools\nPillow>=10  # images\nboto3==1.34\n\nbotocore\nrequests\n")
    assert user_requirements(tmp_path) == ("Pillow>=10", "requests")
    (tmp_path / "requirements.txt").write_text("-e .\n")
    with pytest.raises(SynthError, match=r"requirements.txt, line 1: pip options \(-e\)"):
        user_requirements(tmp_path)


def test_code_and_layer_past_lambdas_size_are_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from flowfn.synth import pipeline
    from flowfn.synth.asset import CodeAsset, write_zip

    layer = tmp_path / "layer.zip"
    layer.write_bytes(write_zip([("python/big.bin", b"\0" * 4000)]))
    code = CodeAsset((("app.py", b"x" * 1000),))
    pipeline.check_size(code, {"arm64": layer})
    monkeypatch.setattr(pipeline, "MAX_UNZIPPED_BYTES", 4500)
    with pytest.raises(SynthError, match=r"arm64 dependency layer unzip to 5000 bytes, over Lambda's 4500"):
        pipeline.check_size(code, {"arm64": layer})
