"""docs/trail.md lists every kind of change the services record, and every object type."""

from __future__ import annotations

import re
from pathlib import Path

from server.core.trail import OBJECT_TYPES

ROOT = Path(__file__).resolve().parents[2]
ACTION = re.compile(r'"((?:%s)\.[a-z_]+ed)"' % "|".join(OBJECT_TYPES))  # noqa: UP031


def test_every_recorded_action_and_object_type_is_documented():
    written = {m for path in (ROOT / "server").rglob("*.py")
               for m in ACTION.findall(path.read_text(encoding="utf-8"))}
    documented = set(re.findall(r"^\| `([a-z_]+\.[a-z_]+)` \|", (ROOT / "docs" / "trail.md")
                                .read_text(encoding="utf-8"), flags=re.MULTILINE))
    assert len(written) >= 14
    assert written == documented
    page = (ROOT / "docs" / "trail.md").read_text(encoding="utf-8")
    assert all(f"`{t}`" in page for t in OBJECT_TYPES)
