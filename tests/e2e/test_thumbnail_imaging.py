"""The thumbnail example's image rendering: sizes, orientation, colour modes, bad input."""

from __future__ import annotations

import io
import struct
import zlib
from collections.abc import Callable
from types import ModuleType
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

BOX = (256, 256)


@pytest.fixture(scope="module")
def imaging(example_module: Callable[[str, str], ModuleType]) -> Any:
    return example_module("thumbnail", "imaging")


def encode(image: Image.Image, fmt: str, **options: Any) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt, **options)
    return out.getvalue()


def decode(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def two_halves(size: tuple[int, int], left: tuple[int, int, int], right: tuple[int, int, int]) -> Image.Image:
    image = Image.new("RGB", size, right)
    image.paste(left, (0, 0, size[0] // 2, size[1]))
    return image


def near(actual: Any, expected: tuple[int, ...], tolerance: int = 40) -> bool:
    return all(abs(a - e) <= tolerance for a, e in zip(actual, expected, strict=False))


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
def test_each_input_format_becomes_a_bounded_jpeg(imaging: Any, fmt: str) -> None:
    source = two_halves((1000, 500), (200, 30, 30), (30, 30, 200))
    thumb = imaging.render(encode(source, fmt))
    assert (thumb.width, thumb.height) == (256, 128)
    assert (thumb.format, thumb.content_type, thumb.extension) == ("JPEG", "image/jpeg", ".jpg")
    assert (thumb.source_format, thumb.source_width, thumb.source_height) == (fmt, 1000, 500)
    out = decode(thumb.data)
    assert (out.format, out.size, out.mode) == ("JPEG", (256, 128), "RGB")
    assert near(out.getpixel((10, 64)), (200, 30, 30))
    assert near(out.getpixel((245, 64)), (30, 30, 200))


def test_portrait_is_bounded_by_its_height(imaging: Any) -> None:
    thumb = imaging.render(encode(Image.new("RGB", (300, 900), "green"), "PNG"))
    assert (thumb.width, thumb.height) == (85, 256)


def test_small_images_are_not_enlarged(imaging: Any) -> None:
    thumb = imaging.render(encode(Image.new("RGB", (40, 30), "white"), "JPEG"))
    assert (thumb.width, thumb.height) == (40, 30)


def test_custom_box(imaging: Any) -> None:
    thumb = imaging.render(encode(Image.new("RGB", (800, 800), "white"), "JPEG"), (100, 50))
    assert (thumb.width, thumb.height) == (50, 50)
    with pytest.raises(ValueError, match="at least 1x1"):
        imaging.render(b"x", (0, 10))


def test_exif_orientation_is_applied(imaging: Any) -> None:
    # Stored sideways (red left, blue right) with Orientation 6: shown rotated 90 degrees clockwise,
    # so a viewer sees a portrait image, red on top.
    stored = two_halves((600, 300), (220, 0, 0), (0, 0, 220))
    exif = Image.Exif()
    exif[0x0112] = 6
    thumb = imaging.render(encode(stored, "JPEG", exif=exif.tobytes()))
    assert (thumb.width, thumb.height) == (128, 256)
    out = decode(thumb.data)
    assert near(out.getpixel((64, 20)), (220, 0, 0))
    assert near(out.getpixel((64, 235)), (0, 0, 220))
    # The orientation is baked in: the thumbnail carries no EXIF that would rotate it again.
    assert out.getexif().get(0x0112) in (None, 1)


def test_palette_with_transparency_keeps_alpha_as_png(imaging: Any) -> None:
    image = Image.new("P", (400, 200), 0)
    image.putpalette([0, 0, 0, 255, 0, 0] + [0] * 762)
    image.paste(1, (0, 0, 200, 200))
    data = encode(image, "PNG", transparency=0)
    thumb = imaging.render(data)
    assert (thumb.format, thumb.content_type, thumb.extension) == ("PNG", "image/png", ".png")
    out = decode(thumb.data)
    assert out.mode == "RGBA" and out.size == (256, 128)
    assert out.getpixel((20, 64))[:3] == (255, 0, 0) and out.getpixel((20, 64))[3] == 255
    assert out.getpixel((230, 64))[3] == 0


def test_palette_without_transparency_becomes_rgb_jpeg(imaging: Any) -> None:
    image = Image.new("RGB", (300, 300), (10, 160, 40)).quantize(colors=8)
    assert image.mode == "P"
    out = decode(imaging.render(encode(image, "PNG")).data)
    assert out.mode == "RGB" and near(out.getpixel((100, 100)), (10, 160, 40))


@pytest.mark.parametrize("fmt", ["PNG", "WEBP"])
def test_alpha_is_kept(imaging: Any, fmt: str) -> None:
    image = Image.new("RGBA", (512, 512), (0, 0, 255, 0))
    image.paste((0, 255, 0, 255), (0, 0, 256, 512))
    thumb = imaging.render(encode(image, fmt, lossless=True) if fmt == "WEBP" else encode(image, fmt))
    out = decode(thumb.data)
    assert thumb.format == "PNG" and out.mode == "RGBA"
    assert out.getpixel((30, 128)) == (0, 255, 0, 255)
    assert out.getpixel((220, 128))[3] == 0


def test_greyscale_with_alpha(imaging: Any) -> None:
    image = Image.new("LA", (300, 300), (128, 255))
    out = decode(imaging.render(encode(image, "PNG")).data)
    assert out.mode == "LA" and out.getpixel((5, 5)) == (128, 255)


def test_cmyk_jpeg_is_converted_to_rgb(imaging: Any) -> None:
    image = Image.new("CMYK", (400, 400), (0, 255, 255, 0))  # red in CMYK
    thumb = imaging.render(encode(image, "JPEG"))
    out = decode(thumb.data)
    assert thumb.format == "JPEG" and out.mode == "RGB"
    assert near(out.getpixel((128, 128)), (255, 0, 0))


def test_sixteen_bit_greyscale_is_scaled_not_clipped(imaging: Any) -> None:
    image = Image.new("I;16", (300, 300), 32768)  # mid grey in 16 bits
    out = decode(imaging.render(encode(image, "PNG")).data)
    assert out.mode == "L" and abs(out.getpixel((10, 10)) - 128) <= 2
    # Older Pillows open 16-bit PNGs as mode I.
    wide = imaging._normalise_mode(Image.new("I", (4, 4), 65535))
    assert wide.mode == "L" and wide.getpixel((0, 0)) == 255


def test_bilevel_image(imaging: Any) -> None:
    out = decode(imaging.render(encode(Image.new("1", (600, 300), 1), "PNG")).data)
    assert out.mode == "L" and out.size == (256, 128) and out.getpixel((5, 5)) == 255


def test_empty_file_is_rejected(imaging: Any) -> None:
    with pytest.raises(imaging.ImageRejected, match="empty"):
        imaging.render(b"")


@pytest.mark.parametrize("data", [b"hello, world\n" * 20, b'{"not": "an image"}', bytes(range(256))])
def test_non_images_are_rejected(imaging: Any, data: bytes) -> None:
    with pytest.raises(imaging.ImageRejected, match="not a JPEG, PNG or WebP image"):
        imaging.render(data)


@pytest.mark.parametrize("fmt", ["GIF", "BMP", "TIFF"])
def test_other_image_formats_are_rejected(imaging: Any, fmt: str) -> None:
    with pytest.raises(imaging.ImageRejected, match="not a JPEG, PNG or WebP image"):
        imaging.render(encode(Image.new("RGB", (50, 50), "red"), fmt))


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
def test_truncated_images_are_rejected(imaging: Any, fmt: str) -> None:
    noisy = Image.effect_noise((400, 400), 60).convert("RGB")
    data = encode(noisy, fmt)
    with pytest.raises(imaging.ImageRejected, match="corrupt or truncated"):
        imaging.render(data[: len(data) // 2])


def test_garbage_after_a_valid_header_is_rejected(imaging: Any) -> None:
    data = encode(Image.new("RGB", (400, 400), "red"), "PNG")
    header_end = data.index(b"IDAT") + 4
    broken = data[:header_end] + bytes(64) + data[header_end + 64:]
    with pytest.raises(imaging.ImageRejected, match="corrupt or truncated"):
        imaging.render(broken)


def png_claiming(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims ``width`` x ``height`` pixels."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0\0"))
            + chunk(b"IEND", b""))


@pytest.mark.parametrize("side", [8_000, 12_000, 20_000])
def test_huge_pixel_counts_are_refused_before_decoding(imaging: Any, side: int) -> None:
    with pytest.raises(imaging.ImageRejected, match="pixels"):
        imaging.render(png_claiming(side, side))


def test_oversized_files_are_refused(imaging: Any) -> None:
    with pytest.raises(imaging.ImageRejected, match="bytes"):
        imaging.render(b"\xff" * (imaging.MAX_INPUT_BYTES + 1))


@pytest.mark.parametrize(
    ("key", "extension", "expected"),
    [
        ("incoming/cat.png", ".png", "cat.png"),
        ("incoming/trips/beach.webp", ".jpg", "trips/beach.jpg"),
        ("incoming/a.b.c.jpeg", ".jpg", "a.b.c.jpg"),
        ("incoming/no-extension", ".jpg", "no-extension.jpg"),
        ("incoming/.hidden", ".png", ".hidden.png"),
        ("incoming/dir.v2/file", ".jpg", "dir.v2/file.jpg"),
    ],
)
def test_thumbnail_key(imaging: Any, key: str, extension: str, expected: str) -> None:
    assert imaging.thumbnail_key(key, "incoming/", extension) == expected


@settings(max_examples=40, deadline=None)
@given(
    width=st.integers(1, 900), height=st.integers(1, 900),
    box=st.tuples(st.integers(16, 300), st.integers(16, 300)),
    fmt=st.sampled_from(["JPEG", "PNG", "WEBP"]),
)
def test_thumbnails_fit_the_box_and_keep_the_aspect_ratio(
    imaging: Any, width: int, height: int, box: tuple[int, int], fmt: str
) -> None:
    thumb = imaging.render(encode(Image.new("RGB", (width, height), "orange"), fmt), box)
    assert thumb.width <= max(box[0], 1) and thumb.height <= max(box[1], 1)
    assert thumb.width <= width and thumb.height <= height
    assert decode(thumb.data).size == (thumb.width, thumb.height)
    if (width, height) != (thumb.width, thumb.height):
        # One side touches the box, and the ratio is kept to within a pixel of rounding.
        assert thumb.width == box[0] or thumb.height == box[1]
        assert abs(thumb.width * height - thumb.height * width) <= max(width, height)
