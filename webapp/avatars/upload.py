"""A picture a person uploads: PNG, JPEG or WebP up to 2 MiB, decoded and re-encoded here (metadata gone,
at most 512×512), so what we store and serve is always our own clean WebP.

Decompression bombs: the pixel count is read from the header and refused before anything is decoded,
and Pillow's own bomb check is an error, never a warning.
"""

from __future__ import annotations

import hashlib
import io
import warnings

from PIL import Image, ImageOps, UnidentifiedImageError

from webapp.avatars.fetch import Fetched

MAX_UPLOAD_BYTES = 2 * 1024 * 1024
MAX_PIXELS = 24_000_000  # a 24-megapixel photo decodes to ~100 MB at most
SIDE = 512
FORMATS = ("PNG", "JPEG", "WEBP")
UPLOAD_SOURCE = "upload"  # user_avatars.source_url of a picture the person chose themselves


class PictureRefused(ValueError):
    """Not a picture we take; `reason` is one of: size, type, pixels."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def reencode(data: bytes) -> Fetched:
    """The picture as a square-bounded WebP without metadata; PictureRefused when it is not one we take."""
    if len(data) > MAX_UPLOAD_BYTES:
        raise PictureRefused("size")
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            with Image.open(io.BytesIO(data), formats=FORMATS) as image:
                if image.width * image.height > MAX_PIXELS:
                    raise PictureRefused("pixels")
                image.seek(0)  # an animated WebP or PNG keeps its first frame
                picture = ImageOps.exif_transpose(image)
                picture.thumbnail((SIDE, SIDE))
                picture = picture.convert("RGBA" if _has_alpha(picture) else "RGB")
        except PictureRefused:
            raise
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            raise PictureRefused("pixels") from exc
        except (UnidentifiedImageError, OSError, ValueError, SyntaxError, EOFError) as exc:
            raise PictureRefused("type") from exc
    out = io.BytesIO()
    picture.save(out, format="WEBP", quality=85, method=4)  # nothing passed along: no EXIF, ICC or XMP
    content = out.getvalue()
    return Fetched(content=content, content_type="image/webp", sha256=hashlib.sha256(content).hexdigest())


def _has_alpha(image: Image.Image) -> bool:
    return image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info)
