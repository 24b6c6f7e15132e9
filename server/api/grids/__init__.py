"""Grid endpoints."""
