"""Turn any picture (a photo, a drawing, a scan) into the 28x28 input Tiny GoogLeNet receives.

The steps follow the ones Zalando documented for building Fashion-MNIST from product photos
(https://github.com/zalandoresearch/fashion-mnist#get-the-data): trim the edges that are close to the
corner colour, resize the longest edge to 28, sharpen, extend the short edge to 28 and centre, negate
the intensities, 8-bit greyscale. Fashion-MNIST garments are light on black because the product photos
were dark garments on white that were negated; so this module negates only a picture whose background
is light (a drawing in light ink on black is left as it is), and treats transparent pixels as background.

Every step is kept as a small picture, so a page can show exactly what the network gets. Bad files
raise ``ImageError`` with a message that says what to do. Needs Pillow and NumPy only.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass, field

import numpy as np
from PIL import Image, ImageFilter, ImageOps, UnidentifiedImageError

SIZE = 28
MAX_PIXELS = 40_000_000  # a 40-megapixel photo is fine; a "50,000 x 50,000" PNG is a decompression bomb
MAX_BYTES = 20 * 2**20
MIN_SIDE = 8
WORKING_SIDE = 2048  # larger pictures are shrunk first: the result is 28x28, and memory stays bounded
DEFAULT_TRIM_THRESHOLD = 0.10  # trim pixels within 10% of the corner colour
LIGHT_BACKGROUND = 128  # a corner colour at or above this grey level is a light background


class ImageError(ValueError):
    """The file cannot be turned into a network input; the message says why and what to do."""


@dataclass
class Step:
    name: str
    image: np.ndarray  # uint8, greyscale (H, W)
    note: str = ""


@dataclass
class Conversion:
    """The network's 28x28 input and how it was made."""

    pixels: np.ndarray  # (28, 28) uint8: light garment on black, as in Fashion-MNIST
    steps: list[Step] = field(default_factory=list)
    inverted: bool = False
    background: int = 0  # the corner grey level that was taken for the background


def open_image(data: bytes) -> Image.Image:
    """Decode a PNG, JPEG, WebP, BMP or GIF (its first frame) safely, with its EXIF orientation applied."""
    if not data:
        raise ImageError("The file is empty. Choose a picture file (PNG, JPEG, WebP, BMP or GIF).")
    if len(data) > MAX_BYTES:
        raise ImageError(f"The file is larger than {MAX_BYTES >> 20} MB. Choose a smaller picture.")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            width, height = image.size  # read from the header, before any pixel is decoded
            if width * height > MAX_PIXELS:
                raise ImageError(
                    f"The picture declares {width:,} x {height:,} pixels, more than {MAX_PIXELS // 1_000_000} "
                    "megapixels. Choose a smaller picture."
                )
            image.seek(0)  # a GIF's (or WebP's) first frame
            image.draft("RGB", (WORKING_SIDE, WORKING_SIDE))  # JPEG: decode at a reduced size already
            image.load()
    except ImageError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageError(
            f"The picture declares far more than {MAX_PIXELS // 1_000_000} megapixels, too many to open safely. "
            "Choose a smaller picture."
        ) from exc
    except UnidentifiedImageError as exc:
        raise ImageError("This file is not a picture this app can read. Use PNG, JPEG, WebP, BMP or GIF.") from exc
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise ImageError(f"The picture cannot be read (it may be truncated or damaged: {exc}).") from exc
    if min(image.size) < MIN_SIDE:
        raise ImageError(
            f"The picture is only {image.size[0]} x {image.size[1]} pixels; it needs at least {MIN_SIDE} on each side."
        )
    image = ImageOps.exif_transpose(image)
    if max(image.size) > WORKING_SIDE:
        image.thumbnail((WORKING_SIDE, WORKING_SIDE), Image.LANCZOS)
    return image


def to_grey(image: Image.Image) -> tuple[np.ndarray, np.ndarray | None]:
    """(grey levels 0-255 as float, opacity 0-1 or None): palette, CMYK, LAB, HSV, 16-bit and alpha handled;
    ImageError for a colour mode Pillow opens but cannot convert."""
    try:
        return _to_grey(image)
    except ValueError as exc:
        raise ImageError(
            f"The picture's colour mode ({image.mode}) cannot be turned into grey levels here. Save it as an "
            "ordinary RGB or greyscale PNG or JPEG and try again."
        ) from exc


def _to_grey(image: Image.Image) -> tuple[np.ndarray, np.ndarray | None]:
    if image.mode == "P":
        image = image.convert("RGBA")  # a palette may carry transparency
    if image.mode in ("I;16", "I;16B", "I;16L", "I"):
        values = np.asarray(image, dtype=np.float64)
        high = values.max() or 1.0
        return values / (65535.0 if high > 255 else 255.0) * 255.0, None
    if image.mode == "F":
        values = np.asarray(image, dtype=np.float64)
        low, high = values.min(), values.max()
        return (values - low) / ((high - low) or 1.0) * 255.0, None
    if image.mode == "LAB":  # Pillow converts LAB to nothing else; its L channel is the lightness
        return np.asarray(image.getchannel("L"), dtype=np.float64), None
    if image.mode in ("RGBa", "La"):  # premultiplied alpha
        image = image.convert("RGBA")
    alpha = None
    if image.mode in ("RGBA", "LA", "PA") or (image.mode in ("RGB", "L") and "transparency" in image.info):
        rgba = image.convert("RGBA")
        alpha = np.asarray(rgba.getchannel("A"), dtype=np.float64) / 255.0
        image = rgba.convert("RGB")
    try:
        grey = np.asarray(image.convert("L"), dtype=np.float64)  # CMYK, YCbCr, RGB, 1-bit: all to luminance
    except ValueError:  # a mode Pillow opens but cannot turn into grey directly (HSV)
        grey = np.asarray(image.convert("RGB").convert("L"), dtype=np.float64)
    return grey, alpha


def _corner_colour(grey: np.ndarray) -> float:
    """The median of the picture's border pixels: what the background looks like."""
    border = np.concatenate([grey[0], grey[-1], grey[:, 0], grey[:, -1]])
    return float(np.median(border))


def _trim_box(grey: np.ndarray, background: float, threshold: float) -> tuple[int, int, int, int] | None:
    """Bounding box (top, bottom, left, right) of pixels farther than ``threshold`` from the background."""
    mask = np.abs(grey - background) > threshold * 255.0
    if not mask.any():
        return None
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    return int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1


def _thumb(values: np.ndarray) -> np.ndarray:
    return np.clip(np.round(values), 0, 255).astype(np.uint8)


def convert(
    data: bytes | Image.Image, invert: bool | None = None, trim_threshold: float = DEFAULT_TRIM_THRESHOLD
) -> Conversion:
    """The whole pipeline. ``invert``: None decides from the background, True/False overrides it."""
    image = data if isinstance(data, Image.Image) else open_image(data)
    grey, alpha = to_grey(image)
    steps = [Step("Your picture in grey", _thumb(grey), f"{grey.shape[1]} x {grey.shape[0]} pixels")]

    if alpha is not None:
        if alpha.max() < 0.05:
            raise ImageError("The picture is fully transparent: there is nothing to see. Choose another picture.")
        opaque = alpha > 0.5
        # Transparent is background. Its grey is chosen opposite to the garment, so the usual rule
        # (negate a light background) then makes the garment light on black.
        garment_is_dark = np.median(grey[opaque]) < LIGHT_BACKGROUND
        fill = 255.0 if garment_is_dark else 0.0
        grey = grey * alpha + fill * (1.0 - alpha)
        steps.append(Step("Transparent parts as background", _thumb(grey)))

    background = _corner_colour(grey)
    light = background >= LIGHT_BACKGROUND
    do_invert = light if invert is None else bool(invert)

    box = _trim_box(grey, background, trim_threshold)
    if box is None:
        raise ImageError(
            "The picture is a single colour (nothing differs from its corners). Use a picture of a garment, or "
            "lower the trim threshold."
        )
    top, bottom, left, right = box
    grey = grey[top:bottom, left:right]
    steps.append(Step("Edges trimmed", _thumb(grey), f"kept {right - left} x {bottom - top} pixels"))

    height, width = grey.shape
    scale = SIZE / max(height, width)
    new_size = (max(1, round(width * scale)), max(1, round(height * scale)))
    resized = Image.fromarray(_thumb(grey)).resize(new_size, Image.LANCZOS)
    steps.append(Step("Longest edge resized to 28", np.asarray(resized), f"{new_size[0]} x {new_size[1]}"))

    sharpened = resized.filter(ImageFilter.SHARPEN)
    steps.append(Step("Sharpened", np.asarray(sharpened)))

    canvas = Image.new("L", (SIZE, SIZE), color=int(round(background)))
    canvas.paste(sharpened, ((SIZE - new_size[0]) // 2, (SIZE - new_size[1]) // 2))
    steps.append(Step("Short edge extended to 28, centred", np.asarray(canvas)))

    pixels = np.asarray(ImageOps.invert(canvas) if do_invert else canvas, dtype=np.uint8)
    steps.append(
        Step(
            "Negated" if do_invert else "Not negated",
            pixels,
            ("a light background: negated, so the garment is light on black as in Fashion-MNIST")
            if do_invert
            else "a dark background: kept as it is",
        )
    )
    return Conversion(pixels=pixels.copy(), steps=steps, inverted=do_invert, background=int(round(background)))
