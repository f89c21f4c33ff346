"""A starter gallery: garments drawn by this project's code (no third-party pictures), as product photos.

Each is a dark garment on a white background with a soft shadow, about 400 pixels wide, like the
photos Fashion-MNIST was made from, so a user can try the page without a file of their own.
"""

from __future__ import annotations

import io

from PIL import Image, ImageDraw, ImageFilter

SIZE = 400


def _photo(draw_garment, colour) -> bytes:
    picture = Image.new("RGB", (SIZE, SIZE), (250, 250, 248))
    shadow = Image.new("L", (SIZE, SIZE), 0)
    draw_garment(ImageDraw.Draw(shadow), 255, offset=8)
    picture.paste((205, 205, 205), mask=shadow.filter(ImageFilter.GaussianBlur(10)))
    garment = Image.new("L", (SIZE, SIZE), 0)
    draw_garment(ImageDraw.Draw(garment), 255, offset=0)
    picture.paste(colour, mask=garment)
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG")
    return buffer.getvalue()


def _tshirt(d, fill, offset):
    o = offset
    d.polygon(
        [
            (130 + o, 70 + o),
            (270 + o, 70 + o),
            (350 + o, 130 + o),
            (315 + o, 185 + o),
            (285 + o, 165 + o),
            (285 + o, 340 + o),
            (115 + o, 340 + o),
            (115 + o, 165 + o),
            (85 + o, 185 + o),
            (50 + o, 130 + o),
        ],
        fill=fill,
    )


def _trousers(d, fill, offset):
    o = offset
    d.polygon(
        [
            (135 + o, 40 + o),
            (265 + o, 40 + o),
            (285 + o, 365 + o),
            (215 + o, 365 + o),
            (200 + o, 140 + o),
            (185 + o, 365 + o),
            (115 + o, 365 + o),
        ],
        fill=fill,
    )


def _sneaker(d, fill, offset):
    o = offset
    d.polygon(
        [
            (40 + o, 250 + o),
            (60 + o, 170 + o),
            (150 + o, 150 + o),
            (230 + o, 200 + o),
            (350 + o, 225 + o),
            (365 + o, 270 + o),
            (40 + o, 280 + o),
        ],
        fill=fill,
    )


def _bag(d, fill, offset):
    o = offset
    d.rectangle([70 + o, 150 + o, 330 + o, 340 + o], fill=fill)
    d.arc([130 + o, 60 + o, 270 + o, 220 + o], 180, 360, fill=fill, width=18)


EXAMPLES = {
    "T-shirt (navy)": (_tshirt, (30, 40, 80)),
    "Trousers (black)": (_trousers, (25, 25, 25)),
    "Sneaker (red)": (_sneaker, (170, 30, 40)),
    "Bag (brown)": (_bag, (90, 55, 30)),
}


def example_png(name: str) -> bytes:
    """PNG bytes of one example photo."""
    draw_garment, colour = EXAMPLES[name]
    return _photo(draw_garment, colour)
