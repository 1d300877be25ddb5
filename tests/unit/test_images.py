"""Image preparation: bombs refused from the header, upright, flattened, small, no metadata."""

from __future__ import annotations

import io
import os
import struct
import time
import warnings
import zlib

import pytest
from PIL import ExifTags, Image, ImageCms, ImageDraw, features

from bot.documents.images import (
    ImageRejectedError,
    PreparedImage,
    fit_image,
    prepare_image,
)

RED = (255, 0, 0)
GREEN = (0, 255, 0)
BLUE = (0, 0, 255)
WHITE = (255, 255, 255)
BLACK = (0, 0, 0)

LIMITS = {"max_side": 1024, "max_input_pixels": 20_000_000}


def encode(image: Image.Image, image_format: str, **options: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, image_format, **options)
    return buffer.getvalue()


def decode(prepared: PreparedImage) -> Image.Image:
    image = Image.open(io.BytesIO(prepared.data))
    image.load()
    return image


def close_to(actual: object, expected: tuple[int, ...], tolerance: int = 40) -> bool:
    assert isinstance(actual, tuple)
    return all(abs(a - e) <= tolerance for a, e in zip(actual, expected, strict=True))


def quadrants(width: int, height: int) -> Image.Image:
    """Top-left red, top-right green, bottom-left blue, bottom-right white."""
    image = Image.new("RGB", (width, height), WHITE)
    draw = ImageDraw.Draw(image)
    half_w, half_h = width // 2, height // 2
    draw.rectangle((0, 0, half_w - 1, half_h - 1), fill=RED)
    draw.rectangle((half_w, 0, width - 1, half_h - 1), fill=GREEN)
    draw.rectangle((0, half_h, half_w - 1, height - 1), fill=BLUE)
    return image


def noise(width: int, height: int) -> Image.Image:
    """A photo-like image: too many colours for the PNG rule."""
    return Image.frombytes("RGB", (width, height), os.urandom(width * height * 3))


def png_declaring(width: int, height: int) -> bytes:
    """A real 1x1 PNG whose IHDR is patched to declare another size (with a valid CRC)."""
    data = bytearray(encode(Image.new("RGB", (1, 1), RED), "PNG"))
    assert data[12:16] == b"IHDR"
    data[16:24] = struct.pack(">II", width, height)
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(data[12:29])))
    return bytes(data)


def test_exif_orientation_6_turns_the_picture_upright() -> None:
    stored = quadrants(80, 40)  # landscape as stored; orientation 6 = rotate 90 clockwise
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = 6
    data = encode(stored, "PNG", exif=exif)
    assert Image.open(io.BytesIO(data)).getexif()[ExifTags.Base.Orientation] == 6

    prepared = prepare_image(data, **LIMITS)

    assert (prepared.width, prepared.height) == (40, 80)
    upright = decode(prepared).convert("RGB")
    assert upright.size == (40, 80)
    # Turned clockwise: stored top-left (red) is now top-right, bottom-left (blue) top-left.
    assert close_to(upright.getpixel((30, 20)), RED)
    assert close_to(upright.getpixel((10, 20)), BLUE)
    assert close_to(upright.getpixel((30, 60)), GREEN)
    assert close_to(upright.getpixel((10, 60)), WHITE)
    assert ExifTags.Base.Orientation not in decode(prepared).getexif()


def test_metadata_is_not_copied_to_the_output() -> None:
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "SecretPhone"
    exif[ExifTags.Base.Orientation] = 1
    exif.get_ifd(ExifTags.IFD.GPSInfo)[ExifTags.GPS.GPSLatitudeRef] = "N"
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    data = encode(noise(64, 48), "JPEG", exif=exif, comment=b"my comment", icc_profile=icc)
    assert b"SecretPhone" in data
    assert Image.open(io.BytesIO(data)).getexif().get_ifd(ExifTags.IFD.GPSInfo)

    prepared = prepare_image(data, **LIMITS)

    assert prepared.media_type == "image/jpeg"
    assert b"Exif" not in prepared.data
    assert b"SecretPhone" not in prepared.data
    assert b"my comment" not in prepared.data
    output = decode(prepared)
    assert len(output.getexif()) == 0
    assert not {"exif", "comment", "icc_profile", "xmp"} & set(output.info)


def test_declared_decompression_bomb_is_refused_from_the_header() -> None:
    data = png_declaring(30_000, 30_000)
    filters_before = list(warnings.filters)
    pillow_limit = Image.MAX_IMAGE_PIXELS

    started = time.perf_counter()
    with pytest.raises(ImageRejectedError) as caught:
        prepare_image(data, max_side=1024, max_input_pixels=10**10)

    assert caught.value.reason == "too_many_pixels"
    assert time.perf_counter() - started < 0.5
    assert warnings.filters == filters_before
    assert pillow_limit == Image.MAX_IMAGE_PIXELS


def test_pillow_bomb_warning_becomes_a_refusal() -> None:
    declared = png_declaring(10_000, 10_000)  # over Pillow's warning limit, under its error
    assert Image.MAX_IMAGE_PIXELS is not None
    assert Image.MAX_IMAGE_PIXELS < 10_000 * 10_000 < 2 * Image.MAX_IMAGE_PIXELS

    with pytest.raises(ImageRejectedError) as caught:
        prepare_image(declared, max_side=1024, max_input_pixels=10**9)

    assert caught.value.reason == "too_many_pixels"


def test_our_pixel_limit_is_checked_before_decoding() -> None:
    with pytest.raises(ImageRejectedError) as caught:
        prepare_image(png_declaring(5_000, 5_000), max_side=1024, max_input_pixels=20_000_000)

    assert caught.value.reason == "too_many_pixels"
    assert "5000x5000" in str(caught.value)


@pytest.mark.parametrize(("size", "expected"), [((400, 100), (200, 50)), ((90, 300), (60, 200))])
def test_large_images_are_scaled_down_keeping_the_aspect_ratio(
    size: tuple[int, int], expected: tuple[int, int]
) -> None:
    prepared = prepare_image(encode(noise(*size), "PNG"), max_side=200, max_input_pixels=10**6)

    assert (prepared.width, prepared.height) == expected
    assert decode(prepared).size == expected


def test_large_jpeg_is_scaled_down_through_the_decoder_draft() -> None:
    data = encode(quadrants(3000, 2000), "JPEG", quality=90)

    prepared = prepare_image(data, max_side=500, max_input_pixels=10**7)

    assert (prepared.width, prepared.height) == (500, 333)
    assert close_to(decode(prepared).convert("RGB").getpixel((50, 50)), RED)


def test_small_images_are_never_scaled_up() -> None:
    prepared = prepare_image(encode(noise(50, 30), "PNG"), **LIMITS)

    assert (prepared.width, prepared.height) == (50, 30)


def test_animated_gif_gives_its_first_frame() -> None:
    first = Image.new("RGB", (32, 32), RED)
    second = Image.new("RGB", (32, 32), BLUE)
    data = encode(first, "GIF", save_all=True, append_images=[second], duration=100, loop=0)
    assert getattr(Image.open(io.BytesIO(data)), "n_frames", 1) == 2

    prepared = prepare_image(data, **LIMITS)

    assert close_to(decode(prepared).convert("RGB").getpixel((16, 16)), RED)


def test_transparency_is_flattened_onto_white() -> None:
    image = Image.new("RGBA", (40, 20), (0, 0, 0, 0))
    ImageDraw.Draw(image).rectangle((20, 0, 39, 19), fill=(0, 0, 0, 255))

    prepared = prepare_image(encode(image, "PNG"), **LIMITS)

    output = decode(prepared).convert("RGB")
    assert output.mode == "RGB"
    assert close_to(output.getpixel((5, 10)), WHITE)
    assert close_to(output.getpixel((35, 10)), BLACK)


def test_palette_gif_with_transparency_is_flattened_onto_white() -> None:
    image = Image.new("P", (20, 20), 0)
    image.putpalette([0, 0, 0, 255, 0, 0] + [0] * 762)
    ImageDraw.Draw(image).rectangle((10, 0, 19, 19), fill=1)
    data = encode(image, "GIF", transparency=0)

    output = decode(prepare_image(data, **LIMITS)).convert("RGB")

    assert close_to(output.getpixel((3, 10)), WHITE)
    assert close_to(output.getpixel((16, 10)), RED)


def test_sixteen_bit_greyscale_keeps_its_brightness() -> None:
    data = encode(Image.new("I;16", (16, 16), 40_000), "PNG")

    output = decode(prepare_image(data, **LIMITS))

    assert output.mode == "L"
    value = output.getpixel((8, 8))
    assert isinstance(value, float | int)
    assert abs(value - 40_000 // 256) <= 2


def test_cmyk_jpeg_becomes_rgb() -> None:
    data = encode(Image.new("CMYK", (16, 16), (0, 255, 255, 0)), "JPEG")

    output = decode(prepare_image(data, **LIMITS))

    assert output.mode == "RGB"
    assert close_to(output.getpixel((8, 8)), RED, tolerance=60)


@pytest.mark.skipif(not features.check("webp"), reason="Pillow built without WebP")
def test_webp_is_accepted() -> None:
    prepared = prepare_image(encode(noise(64, 32), "WEBP"), **LIMITS)

    assert prepared.media_type == "image/jpeg"
    assert (prepared.width, prepared.height) == (64, 32)


def test_bmp_is_accepted() -> None:
    prepared = prepare_image(encode(noise(30, 20), "BMP"), **LIMITS)

    assert (prepared.width, prepared.height) == (30, 20)
    assert decode(prepared).format == "JPEG"


def test_flat_screenshot_becomes_png_when_smaller() -> None:
    image = Image.new("RGB", (600, 400), WHITE)
    draw = ImageDraw.Draw(image)
    for row in range(10, 390, 20):
        draw.rectangle((20, row, 580, row + 8), fill=BLACK)

    prepared = prepare_image(encode(image, "PNG"), **LIMITS)

    assert prepared.media_type == "image/png"
    output = decode(prepared)
    assert output.format == "PNG"
    assert not {"exif", "icc_profile", "dpi"} & set(output.info)


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(os.urandom(4096), id="random-bytes"),
        pytest.param(b"", id="empty"),
        pytest.param(encode(noise(200, 200), "JPEG")[:3000], id="truncated-jpeg"),
        pytest.param(encode(noise(200, 200), "PNG")[:5000], id="truncated-png"),
        pytest.param(encode(noise(20, 20), "TIFF"), id="tiff-not-accepted"),
        pytest.param(b"<svg xmlns='http://www.w3.org/2000/svg'/>", id="svg"),
    ],
)
def test_unreadable_data_is_refused(data: bytes) -> None:
    with pytest.raises(ImageRejectedError) as caught:
        prepare_image(data, **LIMITS)

    assert caught.value.reason == "unreadable"


def test_fit_image_returns_the_same_object_when_it_fits() -> None:
    prepared = prepare_image(encode(noise(300, 200), "PNG"), **LIMITS)

    assert fit_image(prepared, 300) is prepared
    assert fit_image(prepared, 1000) is prepared


def test_fit_image_scales_down_when_too_large() -> None:
    prepared = prepare_image(encode(noise(300, 200), "PNG"), **LIMITS)

    smaller = fit_image(prepared, 150)

    assert smaller is not prepared
    assert (smaller.width, smaller.height) == (150, 100)
    assert smaller.media_type == "image/jpeg"
    assert decode(smaller).size == (150, 100)


def test_limits_must_be_positive() -> None:
    with pytest.raises(ValueError, match="positive"):
        prepare_image(encode(noise(4, 4), "PNG"), max_side=0, max_input_pixels=100)
