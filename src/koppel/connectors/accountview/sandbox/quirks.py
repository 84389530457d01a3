"""Quirk modes: documented oddities of the real API that a client must survive (NOTES §5.3, §7, §8, §14.8).
All off by default; switch them at run time through `/_sandbox/quirks` or `AccountViewSandbox.quirks`."""

from __future__ import annotations

from dataclasses import dataclass

from koppel.connectors.sandboxkit import QuirkSwitches


@dataclass
class Quirks(QuirkSwitches):
    padded_strings: bool = False  # character fields come back right-padded with spaces to their length
    empty_404: bool = False  # a read without rows answers 404 (with an error body) instead of []
    single_object: bool = False  # a one-row table comes back as an object instead of a list
    error_200: bool = False  # errors come back with HTTP 200 and an ErrorMessage
    ignore_paging: bool = False  # PageNumber and lastKey are ignored: every page is the first page
    lenient_lengths: bool = False  # over-long values are cut instead of rejected
    reject_company: bool = False  # the company is gone: every x-company is rejected (403)
    truncate_at_nul: bool = False  # text is cut at a NUL character instead of refused (a C-string layer)
    image_name_object: bool = False  # the image name comes as {"name": …}, as S3 reads IMG_MEDIUM (NOTES §10.3)
