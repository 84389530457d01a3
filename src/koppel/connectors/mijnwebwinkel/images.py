"""Article images as MijnWebwinkel takes them: checked before they travel (an image, not too large) and
named after their content, so an upload whose answer was lost is found again on the article by its name,
and an unchanged image is recognised without downloading anything."""

from __future__ import annotations

import hashlib

from koppel.connectors.mijnwebwinkel.errors import SYSTEM
from koppel.errors import NeedsAttention
from koppel.reasons import reason

# The API documents no limit; 10 MB is what web shops commonly accept, and it keeps a base64 JSON body
# (a third larger) within what proxies pass. The sandbox refuses above its own (configurable) limit too.
MAX_IMAGE_BYTES = 10 * 1024 * 1024

_SIGNATURES: tuple[tuple[bytes, int, str], ...] = (
    (b"\xff\xd8\xff", 0, "jpg"),
    (b"\x89PNG\r\n\x1a\n", 0, "png"),
    (b"GIF87a", 0, "gif"),
    (b"GIF89a", 0, "gif"),
    (b"WEBP", 8, "webp"),
)


def image_type(content: bytes) -> str | None:
    """The file extension for image bytes (jpg, png, gif, webp), or None when they are no image."""
    for signature, offset, extension in _SIGNATURES:
        if content[offset : offset + len(signature)] == signature:
            if extension == "webp" and content[:4] != b"RIFF":
                continue
            return extension
    return None


def check_image(content: bytes, what: str, *, max_bytes: int = MAX_IMAGE_BYTES) -> str:
    """The image's extension, or NeedsAttention naming `what` (e.g. "article SHIRT-RED image") and why."""
    if not content:
        raise NeedsAttention(reason("{what} is empty", what=what), system=SYSTEM, field="image")
    if len(content) > max_bytes:
        raise NeedsAttention(
            reason("{what} is {size} MB; MijnWebwinkel takes images up to {most} MB", what=what,
                   size=f"{len(content) / 1_048_576:.1f}", most=f"{max_bytes / 1_048_576:.0f}"),
            system=SYSTEM,
            field="image",
            value=len(content),
        )
    extension = image_type(content)
    if extension is None:
        raise NeedsAttention(
            reason("{what} is not an image (JPEG, PNG, GIF or WebP expected; it starts with {start})", what=what,
                   start=repr(content[:8])),
            system=SYSTEM,
            field="image",
        )
    return extension


def content_hash(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def image_filename(stem: str, content: bytes) -> str:
    """`<stem>-<first 12 hex of the content's SHA-256>.<ext>`: the same bytes always get the same name."""
    safe = "".join(c if c.isalnum() or c in "-_" else "-" for c in stem).strip("-") or "image"
    return f"{safe}-{content_hash(content)[:12]}.{image_type(content) or 'bin'}"
