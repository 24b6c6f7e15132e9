"""How many vertices an import may carry: per geometry and per file (pure, no database)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import shapely

from geo.geojson import ParsedFeature


@dataclass(frozen=True)
class VertexCaps:
    """Settings GRID_MAX_VERTICES_PER_GEOMETRY and GRID_MAX_VERTICES_PER_IMPORT."""

    per_geometry: int = 100_000
    per_import: int = 1_000_000


DEFAULT_VERTEX_CAPS = VertexCaps()


@dataclass(frozen=True)
class VertexCount:
    total: int
    over: tuple[tuple[int, int], ...]  # (feature index, vertices) beyond per_geometry

    def too_many_in_file(self, caps: VertexCaps) -> bool:
        return self.total > caps.per_import


def count_vertices(features: Sequence[ParsedFeature], caps: VertexCaps) -> VertexCount:
    """Vertices of every readable geometry (closing points included, as stored)."""
    total, over = 0, []
    for feature in features:
        if feature.geometry is None:
            continue
        n = int(shapely.get_num_coordinates(feature.geometry))
        total += n
        if n > caps.per_geometry:
            over.append((feature.index, n))
    return VertexCount(total, tuple(over))
