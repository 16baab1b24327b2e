"""Draw ``sample.jpg``, the demo's image: ``python make_sample.py`` (Pillow only, deterministic)."""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw

WIDTH, HEIGHT = 1200, 800


def draw() -> Image.Image:
    """A landscape: sky gradient, sun, two mountain ranges and a lake."""
    image = Image.new("RGB", (WIDTH, HEIGHT))
    pen = ImageDraw.Draw(image)
    for y in range(HEIGHT):
        t = y / HEIGHT
        pen.line([(0, y), (WIDTH, y)], fill=(int(40 + 200 * t), int(90 + 110 * t), int(200 - 40 * t)))
    pen.ellipse((820, 110, 1000, 290), fill=(255, 214, 90))
    pen.polygon([(0, 560), (260, 250), (470, 480), (700, 220), (1000, 520), (1200, 380), (1200, 800),
                 (0, 800)], fill=(70, 80, 110))
    pen.polygon([(0, 640), (330, 430), (600, 620), (880, 470), (1200, 660), (1200, 800), (0, 800)],
                fill=(40, 110, 70))
    pen.rectangle((0, 680, WIDTH, HEIGHT), fill=(50, 120, 180))
    return image


if __name__ == "__main__":
    target = Path(__file__).with_name("sample.jpg")
    draw().save(target, "JPEG", quality=70, optimize=True, progressive=True)
    print(f"wrote {target} ({target.stat().st_size} bytes)")
