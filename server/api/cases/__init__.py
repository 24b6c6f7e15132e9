"""Case endpoints."""
