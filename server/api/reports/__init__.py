"""Report files: the grid-count choropleth (GeoJSON)."""
