"""A client's point, checked and brought to WGS-84: the one way every service takes one in."""

from __future__ import annotations

from geo.crs import CRS, in_china, to_wgs84
from server.core.errors import Invalid
from server.core.i18n import _


class CoordinatesOutsideChina(Invalid):
    code = "coordinates_outside_china"


def wgs84_in_china(lon: float, lat: float, crs: CRS = CRS.WGS84) -> tuple[float, float]:
    """(lon, lat) in WGS-84; a point outside China is refused (422) naming both fields."""
    if not in_china(lon, lat):
        raise CoordinatesOutsideChina(
            _("These coordinates are outside China."),
            errors={"json": {"lon": ["outside China"], "lat": ["outside China"]}})
    wlon, wlat = to_wgs84(lon, lat, crs)
    return float(wlon), float(wlat)
