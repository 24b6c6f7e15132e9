"""GeoReport v2 answers in XML (required by the spec) or JSON, chosen by the URL's extension.

One tree of dicts and lists renders both ways: a list under key ``services`` becomes
``<services><service>…</service></services>`` in XML and a JSON array; ``None`` is an empty
element in XML and ``null`` in JSON; datetimes are ISO 8601 with their offset.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any
from xml.etree import ElementTree as ET

from flask import Response

# The spec's plural → singular element names.
ITEM_TAGS = {
    "services": "service", "attributes": "attribute", "values": "value",
    "service_requests": "request", "errors": "error", "endpoints": "endpoint",
    "formats": "format",
}
MIMETYPES = {"xml": "text/xml; charset=utf-8", "json": "application/json; charset=utf-8"}


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


def _fill(element: ET.Element, value: Any, tag: str) -> None:
    if isinstance(value, dict):
        for key, child in value.items():
            _fill(ET.SubElement(element, key), child, key)
    elif isinstance(value, list):
        item_tag = ITEM_TAGS[tag]
        for child in value:
            _fill(ET.SubElement(element, item_tag), child, item_tag)
    else:
        element.text = _text(value)


def to_xml(root: str, value: Any) -> bytes:
    element = ET.Element(root)
    _fill(element, value, root)
    return ET.tostring(element, encoding="utf-8", xml_declaration=True)


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    return value.isoformat() if isinstance(value, datetime) else value


def answer(fmt: str, root: str, value: Any, status: int = 200) -> Response:
    """``root`` names the XML document element; JSON has no root, just the value."""
    if fmt == "json":
        body = json.dumps(_jsonable(value), ensure_ascii=False).encode()
    else:
        body = to_xml(root, value)
    return Response(body, status=status, mimetype=MIMETYPES[fmt].split(";")[0],
                    content_type=MIMETYPES[fmt])


def errors(fmt: str, status: int, description: str) -> Response:
    """The spec's error shape: ``<errors><error><code/><description/></error></errors>``."""
    return answer(fmt, "errors", [{"code": status, "description": description}], status)
