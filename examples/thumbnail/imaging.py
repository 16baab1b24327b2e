"""Thumbnail rendering with Pillow: pure, in memory, no AWS.

``render(data)`` turns the bytes of a JPEG, PNG or WebP image into a thumbnail that fits a box,
keeps the aspect ratio and the EXIF orientation, and is either a JPEG (opaque images) or a PNG
(images with transparency). Anything that is not such an image raises ``ImageRejected`` with a
reason a person can act on; nothing is produced in that case.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError

#: Formats accepted as input, as Pillow names them.
ACCEPTED_FORMATS = ("JPEG", "PNG", "WEBP")
#: The default bounding box of a thumbnail, in pixels.
DEFAULT_BOX = (256, 256)
#: Inputs larger than this many bytes are refused before decoding.
MAX_INPUT_BYTES = 40 * 1024 * 1024
#: Inputs with more pixels than this are refused (a decompression bomb or a poster-sized scan).
MAX_INPUT_PIXELS = 50_000_000

_OUTPUT_EXTENSION = {"JPEG": ".jpg", "PNG": ".png"}


class ImageRejected(ValueError):
    """The input cannot be turned into a thumbnail; the message says why."""


@dataclass(frozen=True)
class Thumbnail:
    """A rendered thumbnail and what it was made from."""

    data: bytes
    format: str  # "JPEG" or "PNG"
    width: int
    height: int
    source_format: str
    source_width: int
    source_height: int

    @property
    def content_type(self) -> str:
        return "image/jpeg" if self.format == "JPEG" else "image/png"

    @property
    def extension(self) -> str:
        return _OUTPUT_EXTENSION[self.format]


def thumbnail_key(source_key: str, prefix: str, extension: str) -> str:
    """Where the thumbnail of ``source_key`` goes: the key below ``prefix``, new extension.

    ``incoming/trips/beach.webp`` with prefix ``incoming/`` becomes ``trips/beach.jpg``.
    """
    relative = source_key.removeprefix(prefix)
    folder, slash, name = relative.rpartition("/")
    stem = name.rsplit(".", 1)[0] if "." in name.lstrip(".") else name
    return f"{folder}{slash}{stem}{extension}"


def render(data: bytes, box: tuple[int, int] = DEFAULT_BOX, *, quality: int = 85) -> Thumbnail:
    """Render a thumbnail of the image in ``data`` that fits inside ``box`` (width, height).

    Raises ImageRejected when ``data`` is empty, too large, not a JPEG/PNG/WebP image, or corrupt.
    Images smaller than the box are not enlarged.
    """
    if box[0] < 1 or box[1] < 1:
        raise ValueError(f"box {box} must be at least 1x1 pixels")
    if not data:
        raise ImageRejected("the file is empty")
    if len(data) > MAX_INPUT_BYTES:
        raise ImageRejected(f"the file is {len(data)} bytes; the limit is {MAX_INPUT_BYTES} bytes")
    try:
        with warnings.catch_warnings():
            # Pillow warns (rather than fails) between MAX_IMAGE_PIXELS and twice that.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            return _render(data, box, quality)
    except ImageRejected:
        raise
    except UnidentifiedImageError:
        raise ImageRejected("it is not a JPEG, PNG or WebP image") from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageRejected(f"it has too many pixels to decode safely ({exc})") from None
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        # Pillow reports truncated and malformed data with these.
        raise ImageRejected(f"the image data is corrupt or truncated ({exc})") from None


def _render(data: bytes, box: tuple[int, int], quality: int) -> Thumbnail:
    with Image.open(io.BytesIO(data), formats=ACCEPTED_FORMATS) as image:
        source_format = str(image.format)
        width, height = image.size
        if width * height > MAX_INPUT_PIXELS:
            raise ImageRejected(
                f"it is {width}x{height} pixels; images above {MAX_INPUT_PIXELS} pixels are refused"
            )
        # Let the JPEG decoder scale down while decoding; never below twice the box (quality).
        side = 2 * max(box)
        image.draft(None, (side, side))
        image.load()
        oriented = ImageOps.exif_transpose(image)
        converted = _normalise_mode(oriented)
        converted.thumbnail(box, Image.Resampling.LANCZOS)
        out = io.BytesIO()
        if converted.mode in ("RGBA", "LA"):
            fmt = "PNG"
            converted.save(out, fmt, optimize=True)
        else:
            fmt = "JPEG"
            icc = image.info.get("icc_profile") if image.mode != "CMYK" else None
            converted.save(out, fmt, quality=quality, optimize=True, progressive=True, icc_profile=icc)
        return Thumbnail(
            data=out.getvalue(), format=fmt, width=converted.width, height=converted.height,
            source_format=source_format, source_width=width, source_height=height,
        )


def _normalise_mode(image: Image.Image) -> Image.Image:
    """Convert to a mode JPEG or PNG output can hold: L, RGB, LA or RGBA."""
    mode = image.mode
    if mode in ("RGB", "L", "RGBA", "LA"):
        return image
    if mode == "P":
        return image.convert("RGBA" if "transparency" in image.info else "RGB")
    if mode == "PA":
        return image.convert("RGBA")
    if mode == "1":
        return image.convert("L")
    if mode.startswith("I;16") or mode == "I":
        # 16-bit greyscale (PNG's deepest): scale to 8 bits instead of clipping at 255.
        return image.convert("I").point(lambda v: v * (255 / 65535)).convert("L")
    if mode == "RGBa":
        return image.convert("RGBA")
    # CMYK, YCbCr, LAB, HSV and the rest: colour without alpha.
    return image.convert("RGB")
