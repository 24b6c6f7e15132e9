"""Refuse a grid or boundary import beyond the vertex caps, naming the features (all imports)."""

from __future__ import annotations

from collections.abc import Sequence

from geo.geojson import ParsedFeature
from geo.limits import VertexCaps, count_vertices
from server.core.errors import Invalid, TooLarge
from server.core.i18n import _


def check_vertex_caps(features: Sequence[ParsedFeature], caps: VertexCaps) -> None:
    """413 ``import_too_many_vertices`` for the file, 422 ``geometry_too_many_vertices``
    naming each feature beyond the per-geometry cap; checked before any geometry work."""
    count = count_vertices(features, caps)
    if count.too_many_in_file(caps):
        raise TooLarge(_("The file holds {total} vertices; at most {limit} per import: split "
                         "it.").format(total=count.total, limit=caps.per_import),
                       code="import_too_many_vertices",
                       details=[{"vertices": count.total, "limit": caps.per_import}])
    if count.over:
        by_feature = {}
        details = []
        for index, n in count.over:
            code = features[index].properties.get("code")
            message = _("{vertices} vertices; at most {limit} per geometry: simplify it.").format(
                vertices=n, limit=caps.per_geometry)
            by_feature[str(index)] = {"geometry": [f"geometry_too_many_vertices: {message}"]}
            details.append({"index": index, "code": code if isinstance(code, str) else None,
                            "vertices": n, "limit": caps.per_geometry})
        raise Invalid(_("{bad} of {total} features have too many vertices; nothing was "
                        "imported.").format(bad=len(count.over), total=len(features)),
                      code="geometry_too_many_vertices",
                      errors={"json": {"features": by_feature}}, details=details)
