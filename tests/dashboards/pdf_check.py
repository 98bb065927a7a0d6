"""Looking inside a PDF: its text, and whether its embedded fonts cover the text's Chinese."""

from __future__ import annotations

import io
import re

import pdfplumber
from pypdf import PdfReader
from pypdf.generic import DictionaryObject

CJK = re.compile(r"[\u3400-\u9fff\u3000-\u303f\uff00-\uffef]")
HEX = re.compile(r"<([0-9A-Fa-f]+)>")


def pdf_text(pdf: bytes) -> list[str]:
    with pdfplumber.open(io.BytesIO(pdf)) as document:
        return [page.extract_text() or "" for page in document.pages]


def _unhex(value: str) -> str:
    return bytes.fromhex(value).decode("utf-16-be")


def to_unicode(cmap: str) -> dict[int, str]:
    """Glyph code → text from a ToUnicode CMap (bfchar and bfrange sections)."""
    mapping: dict[int, str] = {}
    for block in re.findall(r"beginbfchar(.*?)endbfchar", cmap, re.S):
        for source, target in re.findall(r"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>", block):
            mapping[int(source, 16)] = _unhex(target)
    for block in re.findall(r"beginbfrange(.*?)endbfrange", cmap, re.S):
        for line in block.strip().splitlines():
            parts = HEX.findall(line)
            if len(parts) < 3:
                continue
            first, last = int(parts[0], 16), int(parts[1], 16)
            if "[" in line:
                for offset, target in enumerate(parts[2:]):
                    mapping[first + offset] = _unhex(target)
            else:
                base = _unhex(parts[2])
                for offset in range(last - first + 1):
                    mapping[first + offset] = base[:-1] + chr(ord(base[-1]) + offset)
    return mapping


def _embedded(font: DictionaryObject) -> bool:
    fonts = [font]
    for descendant in font.get("/DescendantFonts", []) or []:
        fonts.append(descendant.get_object())
    for item in fonts:
        descriptor = item.get("/FontDescriptor")
        if descriptor is not None:
            descriptor = descriptor.get_object()
            if any(key in descriptor for key in ("/FontFile", "/FontFile2", "/FontFile3")):
                return True
    return False


def page_fonts(pdf: bytes, page_number: int) -> list[dict[str, object]]:
    page = PdfReader(io.BytesIO(pdf)).pages[page_number]
    fonts = page["/Resources"].get_object().get("/Font", {})
    out = []
    for ref in fonts.get_object().values():
        font = ref.get_object()
        cmap = font.get("/ToUnicode")
        mapping = to_unicode(cmap.get_object().get_data().decode("latin-1")) if cmap else {}
        out.append(
            {"name": str(font.get("/BaseFont")), "embedded": _embedded(font), "map": mapping}
        )
    return out


def uncovered_chinese(pdf: bytes, page_number: int, text: str) -> set[str]:
    """Chinese characters of ``text`` that no embedded font of the page has a real glyph for
    (glyph 0 is .notdef: a box)."""
    covered: set[str] = set()
    for font in page_fonts(pdf, page_number):
        if not font["embedded"]:
            continue
        mapping: dict[int, str] = font["map"]  # type: ignore[assignment]
        covered.update(chars for code, chars in mapping.items() if code != 0)
    covered_chars = set("".join(covered))
    return {char for char in CJK.findall(text) if char not in covered_chars}
