"""Images from users made safe and small for a vision model; blocking, so run it in a thread.

`prepare_image` refuses decompression bombs from the header alone (before any pixel is
decoded), takes the first frame of animations, turns the picture upright by its EXIF
orientation, converts colour to sRGB when an ICC profile says otherwise, flattens transparency
onto white, downscales so the longer side fits, and re-encodes without any metadata (no EXIF,
no GPS, no XMP, no comments, no ICC profile).

Output format rule: JPEG (quality 85). An image with at most 256 distinct colours after
scaling (a flat screenshot, a diagram) is also encoded as PNG, and the PNG is kept when it is
smaller, because JPEG blurs such images and is often larger for them.
"""

from __future__ import annotations

import hashlib
import io
import logging
import struct
import threading
import warnings
import zlib
from dataclasses import dataclass, field
from typing import Literal

from PIL import Image, ImageCms, ImageFile, ImageOps

logger = logging.getLogger(__name__)

ACCEPTED_FORMATS = ("JPEG", "PNG", "WEBP", "GIF", "BMP")
JPEG_QUALITY = 85
FLAT_IMAGE_MAX_COLOURS = 256

_SIXTEEN_BIT_GREY = frozenset({"I", "I;16", "I;16L", "I;16B", "I;16N"})
_WHITE = (255, 255, 255)

# Pillow reports broken data with many exception types; all of them mean "unreadable".
_DECODE_ERRORS: tuple[type[Exception], ...] = (
    OSError,  # includes UnidentifiedImageError and "image file is truncated"
    SyntaxError,
    ValueError,
    TypeError,
    EOFError,
    IndexError,
    KeyError,
    ArithmeticError,
    RuntimeError,
    struct.error,
    zlib.error,
)
_CMS_ERRORS: tuple[type[Exception], ...] = (ImageCms.PyCMSError, *_DECODE_ERRORS)

# `warnings.catch_warnings` swaps the process-wide filter list, so two threads inside it at
# once could leave our "error" filter installed for good; the lock keeps our own calls
# serial. It is held only while Pillow reads the header, never while pixels are decoded.
_WARNINGS_LOCK = threading.Lock()


@dataclass(frozen=True, slots=True)
class PreparedImage:
    """Made in worker threads (preparing is blocking), so its hash is taken there, once."""

    data: bytes
    media_type: str  # "image/jpeg" or "image/png"
    width: int
    height: int
    sha256: str = field(init=False)  # names the image in the blob store

    def __post_init__(self) -> None:
        object.__setattr__(self, "sha256", hashlib.sha256(self.data).hexdigest())


class ImageRejectedError(Exception):
    """The image cannot be used; `reason` is stable for choosing the user's message."""

    def __init__(self, reason: Literal["too_many_pixels", "unreadable"], detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason: Literal["too_many_pixels", "unreadable"] = reason
        self.detail = detail


def prepare_image(data: bytes, *, max_side: int, max_input_pixels: int) -> PreparedImage:
    """Decode a JPEG, PNG, WebP, GIF or BMP and re-encode it upright, clean and small."""
    _check_limits(max_side, max_input_pixels)
    image = _open(data, max_input_pixels)
    _request_draft(image, max_side)
    upright = _upright(_decode(image))
    pixels = _normalise_mode(_to_srgb(upright))
    return _encode(_downscale(pixels, max_side))


def fit_image(image: PreparedImage, max_side: int) -> PreparedImage:
    """Return `image` itself when it fits in `max_side`, else a downscaled re-encoding."""
    _check_limits(max_side, 1)
    if max(image.width, image.height) <= max_side:
        return image
    opened = _open(image.data, max(1, image.width * image.height))
    _request_draft(opened, max_side)
    decoded = _decode(opened)
    return _encode(_downscale(_normalise_mode(decoded), max_side))


def _check_limits(max_side: int, max_input_pixels: int) -> None:
    if max_side < 1 or max_input_pixels < 1:
        msg = f"limits must be positive, got max_side={max_side}, pixels={max_input_pixels}"
        raise ValueError(msg)


def _open(data: bytes, max_input_pixels: int) -> ImageFile.ImageFile:
    """Read only the header; refuse unknown formats and too many declared pixels."""
    try:
        with _WARNINGS_LOCK, warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=ACCEPTED_FORMATS)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageRejectedError("too_many_pixels", str(exc)) from exc
    except _DECODE_ERRORS as exc:
        raise ImageRejectedError("unreadable", f"{type(exc).__name__}: {exc}") from exc
    width, height = image.size
    if width * height > max_input_pixels:
        image.close()
        detail = f"{width}x{height} is over {max_input_pixels} pixels"
        raise ImageRejectedError("too_many_pixels", detail)
    return image


def _request_draft(image: ImageFile.ImageFile, max_side: int) -> None:
    """Let the JPEG decoder scale by 1/2, 1/4 or 1/8 while decoding (a no-op elsewhere)."""
    target = _scaled_size(image.size, max_side)
    if target != image.size:
        try:
            image.draft(None, target)
        except _DECODE_ERRORS as exc:  # decoding at full size will tell if the file is broken
            logger.debug("no JPEG draft: %s", exc)


def _decode(image: ImageFile.ImageFile) -> Image.Image:
    """Decode the current frame, which right after opening is the first one."""
    try:
        image.load()
        return image
    except Image.DecompressionBombError as exc:
        raise ImageRejectedError("too_many_pixels", str(exc)) from exc
    except _DECODE_ERRORS as exc:
        raise ImageRejectedError("unreadable", f"{type(exc).__name__}: {exc}") from exc


def _upright(image: Image.Image) -> Image.Image:
    """Apply the EXIF orientation; a broken EXIF block leaves the picture as stored."""
    try:
        ImageOps.exif_transpose(image, in_place=True)
    except _DECODE_ERRORS as exc:
        logger.debug("ignoring unreadable EXIF orientation: %s", exc)
    return image


def _to_srgb(image: Image.Image) -> Image.Image:
    """Convert from an embedded ICC profile to sRGB, since the profile is not kept."""
    icc = image.info.get("icc_profile")
    if not isinstance(icc, bytes) or not icc or image.mode not in {"RGB", "RGBA", "CMYK"}:
        return image
    output_mode = "RGBA" if image.mode == "RGBA" else "RGB"
    try:
        source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        converted = ImageCms.profileToProfile(
            image, source, ImageCms.createProfile("sRGB"), outputMode=output_mode
        )
    except _CMS_ERRORS as exc:
        logger.debug("ignoring unusable ICC profile: %s", exc)
        return image
    return converted if converted is not None else image


def _normalise_mode(image: Image.Image) -> Image.Image:
    """Return an "L" or "RGB" image; transparency is flattened onto white."""
    if image.mode in _SIXTEEN_BIT_GREY:
        image = image.convert("I").point(lambda value: value / 256).convert("L")
    if image.has_transparency_data:
        rgba = image.convert("RGBA")
        flat = Image.new("RGB", rgba.size, _WHITE)
        flat.paste(rgba, mask=rgba.getchannel("A"))
        return flat
    if image.mode in {"L", "RGB"}:
        return image
    if image.mode == "1":
        return image.convert("L")
    return image.convert("RGB")  # P, CMYK, YCbCr, LAB, HSV


def _scaled_size(size: tuple[int, int], max_side: int) -> tuple[int, int]:
    width, height = size
    longest = max(width, height)
    if longest <= max_side:
        return size
    scale = max_side / longest
    return (
        min(max_side, max(1, round(width * scale))),
        min(max_side, max(1, round(height * scale))),
    )


def _downscale(image: Image.Image, max_side: int) -> Image.Image:
    target = _scaled_size(image.size, max_side)
    if target == image.size:
        return image
    return image.resize(target, Image.Resampling.LANCZOS, reducing_gap=3.0)


def _encode(image: Image.Image) -> PreparedImage:
    """Encode without metadata: Pillow copies comments, XMP and ICC from `info` otherwise."""
    image.info = {}
    width, height = image.size
    jpeg = _save(image, "JPEG", quality=JPEG_QUALITY, optimize=True)
    if image.getcolors(FLAT_IMAGE_MAX_COLOURS) is not None:
        png = _save(image, "PNG", optimize=True)
        if len(png) < len(jpeg):
            return PreparedImage(png, "image/png", width, height)
    return PreparedImage(jpeg, "image/jpeg", width, height)


def _save(image: Image.Image, image_format: str, **options: int | bool) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, image_format, **options)
    return buffer.getvalue()
