"""Feature files in coordinate systems GeoJSON cannot carry: CSV with a ``crs`` column and WKT.

RFC 7946 GeoJSON is WGS-84 by definition, and a reader (GDAL, QGIS) given GCJ-02 numbers in
it places them silently ~600 m off. So GeoJSON leaves this service in WGS-84 only, and the
other systems (CGCS2000, GCJ-02, BD-09) go out as CSV: one row per feature, the properties,
then ``crs`` (the system's name on every row, so a file cut in pieces still says it) and
``wkt`` (the geometry as OGC WKT, longitude first). GDAL's CSV driver reads the ``wkt``
column as the geometry and reports the layer's SRS as unknown: nothing claims WGS-84.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence

import shapely
from shapely.geometry.base import BaseGeometry

from geo.crs import CRS

# What each system is, for the file's reader; EPSG codes where one exists.
CRS_LABEL = {
    CRS.WGS84: "wgs84",
    CRS.CGCS2000: "cgcs2000",
    CRS.GCJ02: "gcj02",
    CRS.BD09: "bd09",
}
# Coordinates to 1e-7 degree (~1 cm), like the stored WKB read back.
WKT_DECIMALS = 7
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def features_csv(
    columns: Sequence[str],
    rows: Iterable[tuple[dict, BaseGeometry | None]],
    crs: CRS,
) -> str:
    """A CSV text: a header of ``columns`` + ``crs`` + ``wkt``, then one line per row.

    ``rows`` are (properties, geometry already in ``crs``). Text cells that start like a
    spreadsheet formula get a leading apostrophe (names come from people).
    """
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([*columns, "crs", "wkt"])
    for properties, geometry in rows:
        cells = [_cell(properties.get(name)) for name in columns]
        wkt = "" if geometry is None else shapely.to_wkt(
            geometry, rounding_precision=WKT_DECIMALS, trim=True)
        writer.writerow([*cells, CRS_LABEL[crs], wkt])
    return out.getvalue()


def _cell(value: object) -> str:
    if value is None:
        return ""
    text = str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text
