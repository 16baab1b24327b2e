"""The thumbnail example's handlers on moto's in-process mock, one invocation at a time."""

from __future__ import annotations

import base64
import io
import json
import sys
from collections.abc import Callable
from types import ModuleType
from typing import Any

import boto3
import pytest
from PIL import Image

from flowfn import App
from flowfn.runtime import dispatch


@pytest.fixture
def thumbs(load_example: Callable[[str], App], bound: Callable[[Any], str]) -> tuple[App, ModuleType]:
    app = load_example("thumbnail")
    for resource in app.all_resources():
        bound(resource)
    return app, sys.modules["app"]


def upload(module: ModuleType, key: str, data: bytes) -> None:
    boto3.client("s3").put_object(Bucket=module.uploads.name, Key=key, Body=data)


def png(size: tuple[int, int], mode: str = "RGB", color: Any = "red") -> bytes:
    out = io.BytesIO()
    Image.new(mode, size, color).save(out, "PNG")
    return out.getvalue()


def keys(bucket: str) -> list[str]:
    return [o["Key"] for o in boto3.client("s3").list_objects_v2(Bucket=bucket).get("Contents", [])]


def test_an_upload_becomes_a_thumbnail(thumbs: tuple[App, ModuleType], raw: Any) -> None:
    app, module = thumbs
    data = png((1024, 512))
    upload(module, "incoming/trips/red sea.png", data)
    result = dispatch(app.handler("make_thumbnail"),
                      raw.s3(module.uploads.name, "incoming/trips/red sea.png", len(data)), None)
    assert result == {"status": "written", "source": "incoming/trips/red sea.png",
                      "thumbnail": "trips/red sea.jpg", "width": 256, "height": 128}
    obj = boto3.client("s3").get_object(Bucket=module.thumbnails.name, Key="trips/red sea.jpg")
    assert obj["ContentType"] == "image/jpeg"
    assert obj["Metadata"] == {"source-key": "incoming/trips/red%20sea.png", "source-size": "1024x512"}
    assert Image.open(io.BytesIO(obj["Body"].read())).size == (256, 128)
    # The thumbnail went to the other bucket; the uploads bucket holds only the original.
    assert keys(module.uploads.name) == ["incoming/trips/red sea.png"]


def test_transparent_images_become_pngs(thumbs: tuple[App, ModuleType], raw: Any) -> None:
    app, module = thumbs
    data = png((300, 300), "RGBA", (0, 0, 0, 0))
    upload(module, "incoming/logo.png", data)
    result = dispatch(app.handler("make_thumbnail"), raw.s3(module.uploads.name, "incoming/logo.png", len(data)),
                      None)
    assert result["thumbnail"] == "logo.png"
    assert keys(module.thumbnails.name) == ["logo.png"]


@pytest.mark.parametrize(("data", "reason"), [
    (b"%PDF-1.7 not an image", "not a JPEG, PNG or WebP image"),
    (png((400, 400))[:200], "corrupt or truncated"),
    (b"", "the file is empty"),
])
def test_bad_files_are_logged_and_leave_nothing(
    thumbs: tuple[App, ModuleType], raw: Any, capsys: pytest.CaptureFixture[str], data: bytes, reason: str
) -> None:
    app, module = thumbs
    upload(module, "incoming/bad.png", data)
    result = dispatch(app.handler("make_thumbnail"), raw.s3(module.uploads.name, "incoming/bad.png", len(data)),
                      None)
    assert result["status"] == "rejected" and reason in result["reason"]
    assert keys(module.thumbnails.name) == []
    errors = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"ERROR"' in line]
    assert len(errors) == 1
    assert errors[0]["message"].startswith(f"no thumbnail for s3://{module.uploads.name}/incoming/bad.png: ")
    assert reason in errors[0]["message"] and "Upload a JPEG, PNG or WebP image" in errors[0]["message"]
    assert errors[0]["function"] == "make_thumbnail"


def test_too_large_uploads_are_not_downloaded(thumbs: tuple[App, ModuleType], raw: Any) -> None:
    app, module = thumbs
    # The object does not even exist: the size in the event is enough to refuse it.
    result = dispatch(app.handler("make_thumbnail"),
                      raw.s3(module.uploads.name, "incoming/huge.jpg", 10**9), None)
    assert result["status"] == "rejected" and "the limit is" in result["reason"]


def test_an_upload_deleted_before_its_event_is_skipped(thumbs: tuple[App, ModuleType], raw: Any) -> None:
    app, module = thumbs
    result = dispatch(app.handler("make_thumbnail"), raw.s3(module.uploads.name, "incoming/gone.png", 10),
                      None)
    assert result == {"status": "gone", "source": "incoming/gone.png"}


def test_routes_list_serve_and_show_thumbnails(thumbs: tuple[App, ModuleType], raw: Any) -> None:
    app, module = thumbs
    s3 = boto3.client("s3")
    for name in ("b.jpg", "a/c.png"):
        s3.put_object(Bucket=module.thumbnails.name, Key=name, Body=b"image:" + name.encode(),
                      ContentType="image/png" if name.endswith(".png") else "image/jpeg")
    listing = dispatch(app.handler("list_thumbnails"), raw.http("GET", "/thumbnails", "/thumbnails"), None)
    items = json.loads(listing["body"])
    assert [(t["name"], t["url"]) for t in items["thumbnails"]] == [("a/c.png", "/thumbnails/a/c.png"),
                                                                    ("b.jpg", "/thumbnails/b.jpg")]
    assert items["next"] is None
    one = dispatch(app.handler("get_thumbnail"),
                   raw.http("GET", "/thumbnails/{name+}", "/thumbnails/a/c.png", path_params={"name": "a/c.png"}),
                   None)
    assert one["statusCode"] == 200 and one["isBase64Encoded"] is True
    assert one["headers"]["content-type"] == "image/png"
    assert base64.b64decode(one["body"]) == b"image:a/c.png"
    missing = dispatch(app.handler("get_thumbnail"),
                       raw.http("GET", "/thumbnails/{name+}", "/thumbnails/x.jpg", path_params={"name": "x.jpg"}),
                       None)
    assert missing["statusCode"] == 404 and "x.jpg" in json.loads(missing["body"])["message"]
    page = dispatch(app.handler("gallery"), raw.http("GET", "/", "/"), None)
    assert page["headers"]["content-type"].startswith("text/html")
    assert '<img src="/thumbnails/a/c.png"' in page["body"] and "2 thumbnails" in page["body"]


def test_listing_pages(thumbs: tuple[App, ModuleType], raw: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    app, module = thumbs
    monkeypatch.setattr(module, "PAGE_SIZE", 2)
    s3 = boto3.client("s3")
    for name in ("1.jpg", "2.jpg", "3.jpg"):
        s3.put_object(Bucket=module.thumbnails.name, Key=name, Body=b"x")
    first = json.loads(dispatch(app.handler("list_thumbnails"),
                                raw.http("GET", "/thumbnails", "/thumbnails"), None)["body"])
    assert [t["name"] for t in first["thumbnails"]] == ["1.jpg", "2.jpg"]
    assert first["next"] == "/thumbnails?after=2.jpg"
    second = json.loads(dispatch(app.handler("list_thumbnails"),
                                 raw.http("GET", "/thumbnails", "/thumbnails", query={"after": "2.jpg"}),
                                 None)["body"])
    assert [t["name"] for t in second["thumbnails"]] == ["3.jpg"] and second["next"] is None


def test_the_subscribers_index_and_announce(thumbs: tuple[App, ModuleType]) -> None:
    from flowfn.local.samples import sns_sample

    app, module = thumbs
    message = json.dumps({"thumbnail": "trips/lake.jpg", "source": "incoming/trips/lake.jpg", "width": 256,
                          "height": 171})
    event = sns_sample(module.ready.arn, message, subject="thumbnail ready")
    assert dispatch(app.handler("index_thumbnail"), event, None) == {"index": "index/trips/lake.jpg.json"}
    entry = json.loads(boto3.client("s3").get_object(Bucket=module.uploads.name,
                                                     Key="index/trips/lake.jpg.json")["Body"].read())
    assert entry["thumbnail"] == "trips/lake.jpg" and entry["announced"]
    assert dispatch(app.handler("announce_large"), event, None) == {"announced": "trips/lake.jpg"}
