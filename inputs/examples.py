"""A starter gallery: garments drawn by this project's code (no third-party pictures), as product photos.

Each is a dark garment on a white background with a soft shadow, 400 pixels wide, like the photos
Fashion-MNIST was made from, so a user can try the page without a file of their own. A garment is a
colour and a list of polygons.
"""

from __future__ import annotations

import io

from PIL import Image, ImageDraw, ImageFilter

SIZE = 400
SHADOW_OFFSET = 8

EXAMPLES = {
    "T-shirt (navy)": (
        (30, 40, 80),
        [
            [
                (130, 70),
                (270, 70),
                (350, 130),
                (315, 185),
                (285, 165),
                (285, 340),
                (115, 340),
                (115, 165),
                (85, 185),
                (50, 130),
            ]
        ],
    ),
    "Trousers (black)": (
        (25, 25, 25),
        [[(135, 40), (265, 40), (285, 365), (215, 365), (200, 140), (185, 365), (115, 365)]],
    ),
    "Sneaker (red)": (
        (170, 30, 40),
        [[(40, 250), (60, 170), (150, 150), (230, 200), (350, 225), (365, 270), (40, 280)]],
    ),
    "Bag (brown)": (
        (90, 55, 30),
        [
            [(70, 150), (330, 150), (330, 340), (70, 340)],  # body
            [(130, 150), (150, 80), (250, 80), (270, 150), (250, 150), (235, 100), (165, 100), (150, 150)],  # handle
        ],
    ),
}


def _mask(polygons, offset: int) -> Image.Image:
    mask = Image.new("L", (SIZE, SIZE), 0)
    draw = ImageDraw.Draw(mask)
    for polygon in polygons:
        draw.polygon([(x + offset, y + offset) for x, y in polygon], fill=255)
    return mask


def example_png(name: str) -> bytes:
    """PNG bytes of one example photo."""
    colour, polygons = EXAMPLES[name]
    picture = Image.new("RGB", (SIZE, SIZE), (250, 250, 248))
    picture.paste((205, 205, 205), mask=_mask(polygons, SHADOW_OFFSET).filter(ImageFilter.GaussianBlur(10)))
    picture.paste(colour, mask=_mask(polygons, 0))
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG")
    return buffer.getvalue()
