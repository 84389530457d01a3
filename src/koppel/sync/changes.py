"""What changed between two payloads sent for one record: the activity keeps one row per record (its latest
outcome), so when a record is sent again the difference from what was sent before is kept beside it
(`Activity.changes`), for the record's page to show as "field: old → new".

    diff({"price": "9.95", "name": "Mok"}, {"price": "10.95", "name": "Mok"})
    # [{"path": "price", "kind": "changed", "old": "9.95", "new": "10.95"}]

Paths name fields the way the record's page does: nested objects dotted, list items numbered from 1
(`lines.2.QTY`). "added": sent now and not before; "removed": sent before and not now (an update may leave
out fields it never overwrites, so "removed" means "not sent this time", not "deleted in the target").
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from koppel.errors import Outcome

# A record sent again with a wholly different shape would list every field; the page needs only enough to
# see what happened, and the row stays small.
MOST = 200
_MISSING = object()


def diff(before: Any, after: Any, most: int = MOST) -> list[dict[str, Any]]:
    """The field-level differences from `before` to `after` (JSON values), at most `most` of them (a last
    entry of kind "more" says how many were left out)."""
    found: list[dict[str, Any]] = []
    _compare(before, after, "", found)
    if len(found) > most:
        return [*found[:most], {"path": "", "kind": "more", "old": None, "new": len(found) - most}]
    return found


def _compare(before: Any, after: Any, path: str, found: list[dict[str, Any]]) -> None:
    if isinstance(before, dict) and isinstance(after, dict):
        for name in [*before, *(n for n in after if n not in before)]:
            _compare(before.get(name, _MISSING), after.get(name, _MISSING), _join(path, name), found)
    elif isinstance(before, list) and isinstance(after, list):
        for index in range(max(len(before), len(after))):
            _compare(before[index] if index < len(before) else _MISSING,
                     after[index] if index < len(after) else _MISSING, _join(path, index + 1), found)
    elif before is _MISSING:
        found += [{"path": p, "kind": "added", "old": None, "new": v} for p, v in _leaves(after, path)]
    elif after is _MISSING:
        found += [{"path": p, "kind": "removed", "old": v, "new": None} for p, v in _leaves(before, path)]
    elif before != after or type(before) is not type(after):
        found.append({"path": path or "value", "kind": "changed", "old": before, "new": after})


def _leaves(value: Any, path: str) -> list[tuple[str, Any]]:
    """A value added or removed whole, as its fields (an empty object or list as itself)."""
    if isinstance(value, dict) and value:
        return [leaf for name, inner in value.items() for leaf in _leaves(inner, _join(path, name))]
    if isinstance(value, list) and value:
        return [leaf for index, inner in enumerate(value, start=1) for leaf in _leaves(inner, _join(path, index))]
    return [(path or "value", value)]


def _join(path: str, name: Any) -> str:
    return f"{path}.{name}" if path else str(name)


def kept_with(earlier: dict[str, Any] | None, sent: bool, payload_out: Any, now: datetime) -> dict[str, Any] | None:
    """What a record's activity keeps as its changes when a new outcome is recorded (`Activity.changes`).

    `earlier`: the record's activity so far (outcome, payload_out, changes, updated_at), None for its first.
    A send compared with the last send: the differences and since when. An outcome that sends nothing keeps
    the last send's payload to compare the next one with (a price fixed after a parked update still shows
    old → new). Nothing when no payload is kept (metadata only) or the record was never sent with one."""
    base = _last_sent(earlier)
    if base is None:
        return None
    if not sent:
        return {"base": base}
    if payload_out is None:
        return None
    now_sent = json.loads(json.dumps(payload_out, default=str))
    return {"since": base["at"], "fields": diff(base["payload"], now_sent)}


def _last_sent(earlier: dict[str, Any] | None) -> dict[str, Any] | None:
    if earlier is None:
        return None
    if earlier["outcome"] == Outcome.SENT.value and earlier["payload_out"] is not None:
        return {"at": earlier["updated_at"].isoformat(), "payload": earlier["payload_out"]}
    kept = earlier.get("changes")
    return kept["base"] if isinstance(kept, dict) and isinstance(kept.get("base"), dict) else None
