"""What a downloaded file really is, from its bytes (pure: no database, no network).

The channel's word (WeChat's ``MsgType``, a header's ``Content-Type``, a file name) is only a
hint: the first bytes decide (``filetype``'s magic numbers, plus WeChat's SILK voice, which it
does not know), and only the types below are kept. An image is then opened by Pillow, which
reads its header without decoding it: a declared pixel size past the limit is a decompression
bomb and is refused before anything is decoded.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import IO

import filetype
from filetype.types.base import Type as FileType
from PIL import Image, UnidentifiedImageError

# How many first bytes the sniffer needs (filetype reads at most 261).
HEAD_BYTES = 262

# kind -> the content types we keep for it (the name ``filetype`` gives, as we store it)
KINDS: dict[str, dict[str, str]] = {
    "image": {
        "image/jpeg": "image/jpeg",
        "image/png": "image/png",
        "image/gif": "image/gif",
        "image/webp": "image/webp",
    },
    "voice": {
        "audio/amr": "audio/amr",
        "audio/silk": "audio/silk",
        "audio/mpeg": "audio/mpeg",
        "audio/mp4": "audio/mp4",
        "audio/aac": "audio/aac",
        "audio/ogg": "audio/ogg",
        "audio/x-wav": "audio/wav",
    },
    "video": {
        "video/mp4": "video/mp4",
        "video/3gpp": "video/3gpp",
        "video/quicktime": "video/quicktime",
        "video/x-m4v": "video/mp4",
    },
    "document": {"application/pdf": "application/pdf"},
}
KIND_LABELS = {"image": "图片", "voice": "语音", "video": "视频", "document": "PDF 文件"}
PILLOW_FORMATS = {
    "image/jpeg": "JPEG",
    "image/png": "PNG",
    "image/gif": "GIF",
    "image/webp": "WEBP",
}
EXTENSIONS = {
    "image/jpeg": ".jpg",
    "image/png": ".png",
    "image/gif": ".gif",
    "image/webp": ".webp",
    "audio/amr": ".amr",
    "audio/silk": ".silk",
    "audio/mpeg": ".mp3",
    "audio/mp4": ".m4a",
    "audio/aac": ".aac",
    "audio/ogg": ".ogg",
    "audio/wav": ".wav",
    "video/mp4": ".mp4",
    "video/3gpp": ".3gp",
    "video/quicktime": ".mov",
    "application/pdf": ".pdf",
}


class Silk(FileType):  # type: ignore[misc]
    """WeChat's SILK voice (``#!SILK_V3``, sometimes after one 0x02 byte)."""

    MIME, EXTENSION = "audio/silk", "silk"

    def __init__(self) -> None:
        super().__init__(mime=self.MIME, extension=self.EXTENSION)

    def match(self, buf: bytes) -> bool:
        return bytes(buf[:9]) == b"#!SILK_V3" or bytes(buf[:10]) == b"\x02#!SILK_V3"


filetype.add_type(Silk())


class MediaRefused(Exception):
    """The bytes are not something we keep (wrong type, too large, a bomb); permanent."""


@dataclass(frozen=True)
class Sniffed:
    content_type: str
    kind: str

    @property
    def extension(self) -> str:
        return EXTENSIONS.get(self.content_type, "")


def kind_of_hint(hint: str) -> str:
    """The kind a channel announced (``image``, ``audio/amr``, ``video``...), or "" if none."""
    hint = (hint or "").lower()
    if hint.startswith("image"):
        return "image"
    if hint.startswith(("audio", "voice")):
        return "voice"
    if hint.startswith(("video", "shortvideo")):
        return "video"
    if hint == "application/pdf":
        return "document"
    return ""


def describe(head: bytes) -> str:
    """A short human name for bytes we refuse (for the reason shown to staff)."""
    if not head:
        return "空文件"
    stripped = head.lstrip()[:15].lower()
    if stripped.startswith((b"<!doctype html", b"<html", b"<?xml", b"<svg")):
        return "网页或 XML"
    if stripped.startswith((b"{", b"[")):
        return "JSON 文本"
    guessed = filetype.guess(head)
    return guessed.mime if guessed is not None else "无法识别的格式"


def sniff(head: bytes, *, expect: str = "") -> Sniffed:
    """The type of a file from its first bytes; raises MediaRefused for anything we do not
    keep, or for another kind than the channel announced (``expect``)."""
    guessed = filetype.guess(head) if head else None
    mime = guessed.mime if guessed is not None else ""
    for kind, types in KINDS.items():
        if mime in types:
            if expect and kind != expect:
                raise MediaRefused(
                    f"内容是{KIND_LABELS[kind]}（{types[mime]}），与渠道所说的"
                    f"{KIND_LABELS.get(expect, expect)}不符"
                )
            return Sniffed(content_type=types[mime], kind=kind)
    wanted = KIND_LABELS.get(expect, "图片、语音、视频或 PDF")
    raise MediaRefused(f"文件类型不符：应为{wanted}，实际是{describe(head)}")


def image_check(handle: IO[bytes], *, content_type: str, max_pixels: int) -> tuple[int, int]:
    """Open an image's header (without decoding it) and refuse a bomb or a fake; returns its
    (width, height)."""
    handle.seek(0)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(handle) as image:
                width, height = image.size
                image_format = image.format
                if width * height > max_pixels:
                    raise MediaRefused(
                        f"图片声明的尺寸 {width}×{height} 超过 {max_pixels:,} 像素上限，"
                        "疑为解压炸弹，已拒绝"
                    )
                image.verify()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise MediaRefused(f"图片像素数异常，疑为解压炸弹，已拒绝（{exc}）") from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise MediaRefused(f"图片文件已损坏或无法识别（{type(exc).__name__}）") from exc
    finally:
        handle.seek(0)
    if image_format != PILLOW_FORMATS.get(content_type):
        raise MediaRefused(f"图片内容（{image_format}）与文件头（{content_type}）不符")
    return width, height
