"""What the trail keeps of an object: plain JSON values, a boundary's summary, no surprises."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from decimal import Decimal
from enum import StrEnum

import pytest
from shapely.geometry import box

from server.core.trail import record_change, snapshot


class Kind(StrEnum):
    BASIC = "basic"


@dataclass(frozen=True)
class Spec:
    code: str
    weight: Decimal
    cooperating: tuple[str, ...]


@dataclass
class Thing:
    id: uuid.UUID
    kind: Kind
    day: date
    start: time
    at: datetime
    roles: frozenset[Kind]
    boundary: object
    spec: Spec


def test_a_snapshot_is_plain_json():
    thing = Thing(uuid.UUID(int=1), Kind.BASIC, date(2026, 12, 1), time(8, 30),
                  datetime(2026, 12, 1, 2, 0, tzinfo=UTC), frozenset({Kind.BASIC}),
                  box(116.3, 39.9, 116.31, 39.91), Spec("01", Decimal("12.5"), ("a", "b")))
    kept = snapshot(thing, "id", "kind", "day", "start", "at", "roles", "boundary", "spec")
    assert json.loads(json.dumps(kept)) == kept
    assert kept["id"] == "00000000-0000-0000-0000-000000000001"
    assert (kept["kind"], kept["day"], kept["start"]) == ("basic", "2026-12-01", "08:30:00")
    assert kept["at"] == "2026-12-01T02:00:00+00:00"
    assert kept["roles"] == ["basic"]
    assert kept["spec"] == {"code": "01", "weight": "12.5", "cooperating": ["a", "b"]}
    assert kept["boundary"]["bounds"] == [116.3, 39.9, 116.31, 39.91]
    assert kept["boundary"]["points"] == 5
    moved = snapshot(Thing(**{**thing.__dict__, "boundary": box(116.3, 39.9, 116.32, 39.91)}),
                     "boundary")
    assert moved["boundary"]["wkb_sha256"] != kept["boundary"]["wkb_sha256"]
    assert snapshot(None, "id") is None


def test_a_value_the_trail_cannot_keep_is_refused_not_stringified():
    with pytest.raises(TypeError, match="object"):
        snapshot(Thing(*[object()] * 8), "id")


@pytest.mark.parametrize("action", ["grid", "case.created", "grid."])
def test_an_action_names_a_known_object_type_and_a_verb(action: str):
    with pytest.raises(ValueError, match="OBJECT_TYPES"):
        record_change(None, None, action, uuid.uuid4(), now=datetime.now(UTC))  # type: ignore[arg-type]
