"""Sign-in endpoints."""
