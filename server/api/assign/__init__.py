"""Point-to-grid assignment endpoints."""
