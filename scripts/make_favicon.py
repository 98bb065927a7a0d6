"""Draw the site's icon (民 in white on the site's red) as static/favicon.ico and a 180 px PNG.

Run once when the icon changes (the files are kept in the repository):
    .venv/bin/python scripts/make_favicon.py
Needs Pillow and the Noto CJK font (fonts-noto-cjk, which `make run` installs anyway)."""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

RED = (183, 28, 28, 255)  # #b71c1c, the header colour of every page
FONT = "/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc"
STATIC = Path(__file__).resolve().parent.parent / "static"


def icon(size: int) -> Image.Image:
    scale = 4  # draw large, then shrink: smooth edges at 16 px
    side = size * scale
    image = Image.new("RGBA", (side, side), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    draw.rounded_rectangle((0, 0, side - 1, side - 1), radius=side // 6, fill=RED)
    font = ImageFont.truetype(FONT, int(side * 0.78), index=2)  # index 2: Simplified Chinese
    left, top, right, bottom = draw.textbbox((0, 0), "民", font=font)
    draw.text(
        ((side - (right - left)) / 2 - left, (side - (bottom - top)) / 2 - top),
        "民",
        font=font,
        fill="white",
    )
    return image.resize((size, size), Image.Resampling.LANCZOS)


def main() -> None:
    STATIC.mkdir(exist_ok=True)
    icon(64).save(STATIC / "favicon.ico", sizes=[(16, 16), (32, 32), (48, 48), (64, 64)])
    icon(180).save(STATIC / "apple-touch-icon.png")


if __name__ == "__main__":
    main()
