"""Reading the trail of administrative changes (written by the services via server.core.trail)."""
