"""GET /admin-changes: the trail of administrative changes."""
