"""Units and users endpoints."""
