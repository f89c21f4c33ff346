"""The picture-to-input pipeline (inputs/convert.py) on pictures the tests make."""

import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from inputs.convert import ImageError, convert, open_image


def png_bytes(image: Image.Image, **save) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=save.pop("format", "PNG"), **save)
    return buffer.getvalue()


def dark_shirt_on_white(size=(300, 240), box=(90, 40, 210, 220)) -> Image.Image:
    """A product photo: a dark rectangle ('garment') off-centre on a white background."""
    picture = Image.new("RGB", size, "white")
    picture.paste((40, 40, 60), box)
    return picture


def centre_of_mass(pixels: np.ndarray) -> tuple[float, float]:
    weights = pixels.astype(float)
    rows, cols = np.indices(pixels.shape)
    return (rows * weights).sum() / weights.sum(), (cols * weights).sum() / weights.sum()


def test_a_dark_garment_on_white_is_negated_trimmed_and_centred():
    result = convert(png_bytes(dark_shirt_on_white()))
    assert result.inverted and result.background == 255
    assert result.pixels.shape == (28, 28) and result.pixels.dtype == np.uint8
    assert result.pixels[0, 0] == 0 and result.pixels[14, 14] > 150  # light garment on black
    row, col = centre_of_mass(result.pixels)
    assert abs(row - 13.5) < 1.5 and abs(col - 13.5) < 1.5  # centred, though the photo was not
    assert (result.pixels > 100).any(axis=1).sum() >= 27  # the longest edge spans the 28 pixels
    assert [s.name for s in result.steps][-1] == "Negated" and len(result.steps) >= 6


def test_a_light_drawing_on_black_is_not_negated():
    drawing = Image.new("L", (280, 280), 0)
    drawing.paste(255, (100, 20, 180, 260))
    result = convert(png_bytes(drawing))
    assert not result.inverted and result.pixels[14, 14] > 200 and result.pixels[0, 0] == 0


def test_the_user_can_override_the_inversion_and_the_trim():
    picture = png_bytes(dark_shirt_on_white())
    assert not convert(picture, invert=False).inverted
    assert convert(picture, invert=False).pixels[14, 14] < 100  # dark garment stays dark
    # A faint shadow (grey 215) around the garment: kept at the default threshold (10%), trimmed at 20%,
    # so the garment itself fills more of the 28x28 input.
    shadowed = Image.new("L", (300, 300), 255)
    shadowed.paste(215, (20, 20, 280, 280))
    shadowed.paste(30, (100, 60, 200, 240))
    default, tight = convert(png_bytes(shadowed)), convert(png_bytes(shadowed), trim_threshold=0.2)
    assert (tight.pixels > 150).sum() > 1.5 * (default.pixels > 150).sum()


def test_transparent_pixels_are_background():
    # A black shoe on a transparent background (RGBA): black ink is the garment, transparency the background.
    picture = Image.new("RGBA", (200, 200), (0, 0, 0, 0))
    picture.paste((10, 10, 10, 255), (30, 80, 170, 140))
    result = convert(png_bytes(picture))
    assert result.pixels[0, 0] == 0 and result.pixels[14, 14] > 200
    # The same with a white shirt: light garment on transparent stays light on black.
    picture = Image.new("RGBA", (200, 200), (0, 0, 0, 0))
    picture.paste((250, 250, 250, 255), (60, 30, 140, 170))
    result = convert(png_bytes(picture))
    assert result.pixels[0, 0] == 0 and result.pixels[14, 14] > 200


def test_exif_orientation_is_honoured():
    # A tall garment stored sideways (wide) with EXIF orientation 6: "rotate 90 degrees clockwise to show".
    stored = Image.new("RGB", (300, 120), "white")
    stored.paste((0, 0, 0), (20, 30, 280, 90))  # wide bar as stored: tall once shown upright
    exif = Image.Exif()
    exif[0x0112] = 6
    upright = convert(png_bytes(stored, format="JPEG", exif=exif.tobytes(), quality=95)).pixels
    rows, cols = np.nonzero(upright > 128)
    assert np.ptp(rows) > 2 * np.ptp(cols)  # tall, as the camera meant


@pytest.mark.parametrize(
    "mode",
    ["P", "CMYK", "I;16", "LA", "1"],
)
def test_other_image_modes_convert(mode):
    base = dark_shirt_on_white().convert("L")
    if mode == "I;16":
        picture = Image.fromarray((np.asarray(base, dtype=np.uint16) * 257).astype(np.uint16))
    elif mode == "CMYK":
        picture = dark_shirt_on_white().convert("CMYK")
    else:
        picture = (dark_shirt_on_white() if mode == "P" else base).convert(mode)
    data = png_bytes(picture, format="JPEG") if mode == "CMYK" else png_bytes(picture)
    result = convert(data)
    assert result.inverted and result.pixels[0, 0] == 0 and result.pixels[14, 14] > 150


def test_a_gif_uses_its_first_frame():
    frames = [dark_shirt_on_white(), Image.new("RGB", (300, 240), "white")]
    buffer = io.BytesIO()
    frames[0].save(buffer, format="GIF", save_all=True, append_images=frames[1:])
    assert convert(buffer.getvalue()).pixels[14, 14] > 150


def bomb_png(width=50_000, height=50_000) -> bytes:
    """A PNG that declares width x height pixels and carries almost no data."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")
    )


@pytest.mark.parametrize(
    "data, message",
    [
        (b"", "empty"),
        (b"this is a text file renamed to .png", "not a picture"),
        (png_bytes(dark_shirt_on_white())[:300], "cannot be read"),
        (bomb_png(), "megapixels"),
        (png_bytes(Image.new("RGB", (1, 1), "white")), "at least 8"),
        (png_bytes(Image.new("RGBA", (100, 100), (0, 0, 0, 0))), "fully transparent"),
        (png_bytes(Image.new("RGB", (100, 100), (200, 30, 30))), "single colour"),
    ],
)
def test_bad_files_raise_the_modules_own_error(data, message):
    with pytest.raises(ImageError, match=message):
        convert(data)


def test_the_bomb_is_refused_before_any_pixel_is_decoded():
    import tracemalloc

    tracemalloc.start()
    with pytest.raises(ImageError):
        open_image(bomb_png())
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 20 * 2**20


def as_product_photo(pixels: np.ndarray, rng: np.random.Generator) -> bytes:
    """A test image as a product photo: negated (dark on white), enlarged to about 250 px, on a white
    300x300 canvas with a margin and a small random offset, saved as JPEG."""
    garment = Image.fromarray(255 - pixels).resize((250, 250), Image.BICUBIC)
    photo = Image.new("L", (300, 300), 255)
    dx, dy = rng.integers(-15, 16, size=2)
    photo.paste(garment, (25 + int(dx), 25 + int(dy)))
    return png_bytes(photo.convert("RGB"), format="JPEG", quality=92)


def test_round_trip_of_100_test_images_as_product_photos(data_env):
    import model as tgn
    from dataset.fashion_mnist import load_split, to_model_input
    from runfolder import runs

    net = tgn.load_model(runs.SHIPPED_RUNS["shipped"] / runs.MODEL_FILE)
    test = load_split("test")
    rng = np.random.default_rng(15)
    indices = rng.choice(len(test.labels), size=100, replace=False)
    originals = test.images[indices]
    converted = np.stack([convert(as_product_photo(p, rng)).pixels for p in originals])
    before = np.asarray(net.predict_on_batch(to_model_input(originals))).argmax(1)
    after = np.asarray(net.predict_on_batch(to_model_input(converted))).argmax(1)
    assert (before == after).sum() >= 90, (before != after).sum()


def test_strokes_paint_ink_and_erase_whether_or_not_the_canvas_renders_the_image():
    from explain.overlay import crisp
    from inputs.edit import apply_strokes

    original = np.zeros((28, 28), dtype=np.uint8)
    original[10:18, 10:18] = 200
    strokes = np.zeros((280, 280, 4), dtype=np.uint8)  # strokes only, transparent elsewhere
    strokes[0:10, 0:20] = (255, 255, 255, 255)  # ink over pixels (0, 0) and (0, 1)
    strokes[100:110, 100:105] = (0, 0, 0, 255)  # erase half of pixel (10, 10)
    edited = apply_strokes(original, strokes)
    assert edited[0, 0] == edited[0, 1] == 255 and edited[0, 2] == 0
    assert edited[10, 10] == 100 and edited[11, 11] == 200  # half erased; untouched
    rendered = np.dstack([np.repeat(crisp(original, 10)[..., None], 3, axis=2), np.full((280, 280), 255)])
    covered = strokes[..., 3] > 0
    rendered[covered] = strokes[covered]
    assert np.array_equal(apply_strokes(original, rendered), edited)  # the same edit, rendered with the image
    with pytest.raises(ValueError):
        apply_strokes(original, np.zeros((100, 100, 4)))


def test_a_huge_photo_is_converted_in_bounded_memory():
    import tracemalloc

    photo = dark_shirt_on_white(size=(6000, 4500), box=(1500, 500, 4500, 4000))
    data = png_bytes(photo, format="JPEG", quality=80)
    tracemalloc.start()
    result = convert(data)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert result.pixels[14, 14] > 150 and result.steps[0].note == "2048 x 1536 pixels"
    assert peak < 150 * 2**20  # 27 megapixels as float64 would be 216 MB on their own
