"""Dotted source paths such as `order.debtor.address.invoice.zipcode` or `line.articles[0].sku`.

Reading follows JSONata's habit for lists, because MijnWebwinkel sends some objects either bare or as a
list (`price`, `tax`): a key applied to a list is applied to each element, and a one-element result is
unwrapped. So `line.price.rate` reads the same from `{"rate": "21.00"}` and from `[{"rate": "21.00"}]`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import cache
from typing import Any

_SEGMENT = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*|\d+")
_INDEX = re.compile(r"\[(\d+)\]")


@cache
def parse_path(path: str) -> tuple[str | int, ...]:
    """Split a path into keys and list indexes; raise ValueError naming the bad part."""
    if not path or not path.strip():
        raise ValueError("a source path must not be empty")
    steps: list[str | int] = []
    for part in path.split("."):
        name, _, rest = part.partition("[")
        rest = "[" + rest if rest else ""
        if not _SEGMENT.fullmatch(name):
            raise ValueError(f"bad source path {path!r}: {part!r} is not a key or an index")
        steps.append(int(name) if name.isdigit() else name)
        while rest:
            match = _INDEX.match(rest)
            if not match:
                raise ValueError(f"bad source path {path!r}: {rest!r} is not an index like [0]")
            steps.append(int(match.group(1)))
            rest = rest[match.end() :]
    return tuple(steps)


def read_path(data: Any, path: str) -> Any:
    """The value at `path` in `data`, or None where any step is missing."""
    current = data
    for step in parse_path(path):
        current = _step(current, step)
        if current is None:
            return None
    return current


def _step(current: Any, step: str | int) -> Any:
    if isinstance(current, Mapping):
        return current.get(step) if isinstance(step, str) else current.get(str(step))
    if isinstance(current, list | tuple):
        if isinstance(step, int):
            return current[step] if step < len(current) else None
        values = [v for v in (_step(item, step) for item in current) if v is not None]
        if not values:
            return None
        return values[0] if len(values) == 1 else values
    return None
