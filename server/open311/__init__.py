"""Open311 GeoReport v2: API keys per channel and the residents' requests filed with them."""
