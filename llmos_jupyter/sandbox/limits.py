"""What the kernel agrees to build from the worker's bytes: every bound, and the cheap reads of each format's
header (a message's JSON, a PNG's IHDR, an .npy header, a figure's canvas) that check a claim before anything
is built from it. A program in the worker controls every byte it sends, so a size a payload claims is never
trusted: a few bytes can claim gigabytes. QPY has its own reader of claims, qpy_sizes.py.

Each bound is far above what a real program returns (a figure, a 2000 x 2000 float array, a 5,000-gate
circuit on 20 qubits) and keeps the kernel's peak a few hundred MB at worst. Over a bound: UnsafePayload,
which names it."""
from __future__ import annotations

import io
import math
import re
import struct
from itertools import accumulate

from .errors import UnsafePayload

# ---- messages (framing.py). A reply holds the run's values (one array of codec.MAX_BINARY as base64),
# printed output (runner.OUTPUT_LIMIT characters) and figures (PNGs of a few MB). The kernel holds a message
# about three times over while it parses one (the bytes, the text, the strings), so 64 MiB peaks near 200 MB.
MAX_MESSAGE = 64 * 1024 * 1024
# '[', '{', ',' and ':' outside strings: every JSON value but the outermost follows one, so this bounds the
# objects json.loads makes (about 70 bytes each at worst: 140 MB). A million-element list is 1M.
MAX_JSON_ITEMS = 2_000_000
# The codec nests values 32 deep and a dict takes three JSON levels per value level ({"t", "v": [[k, v]]}).
MAX_JSON_DEPTH = 128
# Bytes that strings holding a character past U+00FF take once parsed (2 or 4 per character, where an ASCII
# string takes 1): a reply's printed output (8 M characters at most) fits even at 4 bytes a character; a 60 MB
# string widened by one escaped emoji does not.
MAX_WIDE_TEXT = 32 * 1024 * 1024

# ---- pictures: a PNG's pixels before it is decoded (4 bytes each as RGBA: 100 MB), and a figure's canvas
# (size x dpi) before the kernel draws it. A 16 x 12 in figure at 300 dpi is 17 M pixels.
MAX_PIXELS = 25_000_000
MAX_SHOWN_PIXELS = 4 * MAX_PIXELS  # all the figures one run shows, which the page decodes at once


def refuse(what: str, bound: str, where: str = "limits") -> UnsafePayload:
    return UnsafePayload(f"{what} was refused: over the bound of {bound} (llmos_jupyter.sandbox.{where})")


# ------------------------------------------------------------------------------------------- JSON messages

_ESCAPED = (b"\\\\", b"__"), (b'\\"', b"__")  # same length: offsets and string lengths stay as they were
_STRING = re.compile(rb'"[^"]*"')  # once escaped quotes are gone, every quote opens or closes a string
_WIDE = re.compile(rb"\\u(?:0[1-9a-fA-F]|[1-9a-fA-F][0-9a-fA-F])[0-9a-fA-F]{2}")  # past U+00FF
_SURROGATE = re.compile(rb"\\u[dD][89abAB]")  # half of a character past U+FFFF: 4 bytes a character
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
_STEP = [0] * 256
_STEP[ord("[")] = _STEP[ord("{")] = 1
_STEP[ord("]")] = _STEP[ord("}")] = -1


def check_json(body: bytes | bytearray) -> None:
    """Bound what json.loads would build from `body` (size, items, depth, widened text) with byte scans that
    build nothing in proportion to it. A body json.loads would reject may be refused here first; it never
    passes here and then builds more than the bounds, since json.loads stops where it stops agreeing."""
    if len(body) > MAX_MESSAGE:
        raise refuse(f"a message of {len(body) >> 20} MiB", f"{MAX_MESSAGE >> 20} MiB")
    if not body.isascii():  # pack() escapes everything else, so the text json.loads reads is one byte a character
        raise UnsafePayload("a message with bytes outside ASCII was refused (messages escape all other characters)")
    plain = body
    for escaped, blank in _ESCAPED:
        if escaped in plain:
            plain = plain.replace(escaped, blank)
    strings = plain.count(b'"') // 2
    if strings > MAX_JSON_ITEMS:
        raise refuse(f"a message of {strings} strings", f"{MAX_JSON_ITEMS} items")
    _check_wide_text(plain)
    outside = _STRING.sub(b"", plain) if strings else plain
    del plain
    opened = outside.count(b"[") + outside.count(b"{")
    items = opened + outside.count(b",") + outside.count(b":")
    if items > MAX_JSON_ITEMS:
        raise refuse(f"a message of {items} JSON items", f"{MAX_JSON_ITEMS} items")
    if outside.count(b"]") + outside.count(b"}") > opened:
        raise UnsafePayload("a message that is not JSON was refused (more brackets closed than opened)")
    depth = max(accumulate(map(_STEP.__getitem__, outside.translate(None, _NOT_BRACKETS))), default=0)
    if depth > MAX_JSON_DEPTH:
        raise refuse(f"a message nested {depth} deep", f"{MAX_JSON_DEPTH} levels")


def _check_wide_text(plain: bytes | bytearray) -> None:
    """A string json.loads makes is 1, 2 or 4 bytes a character after its widest one: a single escaped emoji
    makes a 60 MB string take 240 MB. Each string holding such an escape counts as its characters (at most
    its bytes, less 5 for each 6-byte \\u escape) times that width."""
    found, wide = _WIDE.search(plain), 0
    while found is not None:
        start, end = plain.rfind(b'"', 0, found.start()), plain.find(b'"', found.end())
        if start < 0 or end < 0:
            raise UnsafePayload("a message that is not JSON was refused (an escape outside a string)")
        characters = end - start - 1 - 5 * plain.count(b"\\u", start, end)
        wide += (4 if _SURROGATE.search(plain, start, end) else 2) * characters
        if wide > MAX_WIDE_TEXT:
            raise refuse("a message whose text widens past Latin-1", f"{MAX_WIDE_TEXT >> 20} MiB of such text")
        found = _WIDE.search(plain, end + 1)


# ------------------------------------------------------------------------------------------------- pictures

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
_IHDR = struct.Struct(">I4sII")


def png_size(raw: bytes) -> tuple[int, int]:
    """(width, height) from a PNG's IHDR chunk (which must come first), before any decoding; UnsafePayload
    past MAX_PIXELS: a 10 KB palette PNG can hold 9000 x 9000 pixels."""
    if not raw.startswith(PNG_MAGIC) or len(raw) < len(PNG_MAGIC) + _IHDR.size:
        raise UnsafePayload("a picture that is not a PNG was refused")
    length, kind, width, height = _IHDR.unpack_from(raw, len(PNG_MAGIC))
    if kind != b"IHDR" or length != 13 or not width or not height:
        raise UnsafePayload("a PNG whose first chunk is not a valid IHDR was refused")
    check_pixels(width, height, "a PNG")
    return width, height


def check_pixels(width: float, height: float, what: str) -> None:
    if width * height > MAX_PIXELS:
        raise refuse(f"{what} of {width:.0f} x {height:.0f} pixels", f"{MAX_PIXELS:,} pixels")


def check_canvas(size: tuple[float, float], dpi: float) -> None:
    """A figure's canvas (inches times dpi), before the kernel draws it."""
    check_pixels(size[0] * dpi, size[1] * dpi, f"a figure of {size[0]:g} x {size[1]:g} in at {dpi:g} dpi")


# --------------------------------------------------------------------------------------------------- arrays

def check_npy(raw: bytes, limit: int, what: str = "an array") -> None:
    """The shape and dtype an .npy header declares, before np.load allocates them: no objects, no more bytes
    than follow the header (np.load allocates the declared size first, then reads), and neither bytes nor
    elements past `limit` (a zero-byte dtype costs nothing to declare and everything to use)."""
    from numpy.lib import format as npy_format

    stream = io.BytesIO(raw)
    try:
        version = npy_format.read_magic(stream)
        read = npy_format.read_array_header_1_0 if version == (1, 0) else npy_format.read_array_header_2_0
        shape, _, dtype = read(stream)  # a header of at most 10,000 characters, read by ast.literal_eval
    except (ValueError, TypeError, SyntaxError) as exc:
        raise UnsafePayload(f"{what} whose .npy header cannot be read was refused ({exc})") from None
    if dtype.hasobject:
        raise UnsafePayload(f"{what} of dtype {dtype} holds Python objects (they load through pickle): refused")
    if any(n < 0 for n in shape):
        raise UnsafePayload(f"{what} of shape {shape} was refused")
    count = math.prod(shape)
    declared, present = count * dtype.itemsize, len(raw) - stream.tell()
    if declared > present:
        raise UnsafePayload(f"{what} declaring {declared} bytes of data but carrying {present} was refused")
    if max(declared, count) > limit:
        raise refuse(f"{what} of {count} elements ({declared >> 20} MiB)", f"{limit >> 20} MiB")
