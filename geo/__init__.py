"""Pure geometry for grid management: CRS, metres, validation, GeoJSON, assignment, audit."""
