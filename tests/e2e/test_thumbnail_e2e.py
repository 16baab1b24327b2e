"""The thumbnail example end to end, through flowfn.testing: uploads in, thumbnails and pages out."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image

from flowfn.testing import Harness, run_app

pytestmark = pytest.mark.slow


def encode(image: Image.Image, fmt: str, **options: object) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt, **options)
    return out.getvalue()


@pytest.fixture
def harness(examples_dir: Path, restore_imports: None) -> Iterator[Harness]:
    with run_app(str(examples_dir / "thumbnail" / "app.py")) as running:
        yield running


def test_uploads_become_thumbnails_and_bad_files_leave_nothing(
    harness: Harness, examples_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sample = (examples_dir / "thumbnail" / "sample.jpg").read_bytes()
    logo = Image.new("RGBA", (600, 300), (0, 0, 0, 0))
    logo.paste((200, 0, 0, 255), (0, 0, 300, 300))
    exif = Image.Exif()
    exif[0x0112] = 6  # stored sideways: shown rotated a quarter turn clockwise
    uploads = {
        "incoming/sample.jpg": sample,
        "incoming/brand/logo.png": encode(logo, "PNG"),
        "incoming/phone shot.jpeg": encode(Image.new("RGB", (800, 400), "blue"), "JPEG", exif=exif.tobytes()),
        "incoming/photo.webp": encode(Image.new("RGB", (300, 900), "green"), "WEBP"),
        "incoming/notes.txt": b"these are not pixels",
        "incoming/broken.png": encode(Image.effect_noise((300, 300), 50).convert("RGB"), "PNG")[:400],
        "elsewhere/ignored.jpg": sample,  # outside incoming/: no trigger
    }
    for key, data in uploads.items():
        harness.upload("uploads", key, data)
    harness.drain()

    assert harness.keys("thumbnails") == ["brand/logo.png", "phone shot.jpg", "photo.jpg", "sample.jpg"]
    sizes = {key: Image.open(io.BytesIO(harness.download("thumbnails", key))).size
             for key in harness.keys("thumbnails")}
    assert sizes == {"brand/logo.png": (256, 128), "phone shot.jpg": (128, 256), "photo.jpg": (85, 256),
                     "sample.jpg": (256, 171)}
    assert Image.open(io.BytesIO(harness.download("thumbnails", "brand/logo.png"))).mode == "RGBA"

    # One invocation per upload under incoming/, none for the thumbnails written: no loop.
    runs = harness.invocations("make_thumbnail")
    assert sorted(r.result["source"] for r in runs) == sorted(k for k in uploads if k.startswith("incoming/"))
    assert all(r.outcome == "ok" for r in runs)
    rejected = {r.result["source"]: r.result["reason"] for r in runs if r.result["status"] == "rejected"}
    assert set(rejected) == {"incoming/notes.txt", "incoming/broken.png"}
    assert "not a JPEG, PNG or WebP image" in rejected["incoming/notes.txt"]
    assert "corrupt or truncated" in rejected["incoming/broken.png"]
    errors = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"level":"ERROR"' in line]
    assert sorted(e["source"] for e in errors) == ["incoming/broken.png", "incoming/notes.txt"]
    assert [k for k in harness.keys("uploads") if not k.startswith("index/")] == sorted(uploads)

    # Each thumbnail is announced on the topic: both subscribers get it, one through its filter.
    index = {k: json.loads(harness.download("uploads", k)) for k in harness.keys("uploads", "index/")}
    assert sorted(index) == ["index/brand/logo.png.json", "index/phone shot.jpg.json", "index/photo.jpg.json",
                             "index/sample.jpg.json"]
    assert index["index/sample.jpg.json"]["source"] == "incoming/sample.jpg"
    announced = sorted(r.result["announced"] for r in harness.invocations("announce_large"))
    assert announced == ["brand/logo.png", "sample.jpg"]  # at least 200 pixels wide
    assert harness.failures() == []


def test_routes_serve_the_thumbnails(harness: Harness, examples_dir: Path) -> None:
    harness.upload("uploads", "incoming/trips/lake.jpg", (examples_dir / "thumbnail" / "sample.jpg").read_bytes())
    harness.drain()
    listing = harness.get("/thumbnails")
    assert listing.status == 200
    assert [(t["name"], t["url"]) for t in listing.json()["thumbnails"]] == [
        ("trips/lake.jpg", "/thumbnails/trips/lake.jpg")]
    image = harness.get("/thumbnails/trips/lake.jpg")
    assert image.status == 200 and image.header("content-type") == "image/jpeg"
    assert image.body == harness.download("thumbnails", "trips/lake.jpg")
    assert harness.get("/thumbnails/trips/nope.jpg").status == 404
    page = harness.get("/")
    assert page.status == 200 and (page.header("content-type") or "").startswith("text/html")
    assert '<img src="/thumbnails/trips/lake.jpg"' in page.text
