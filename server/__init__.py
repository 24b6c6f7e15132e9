"""The grid-management backend: domain packages and their HTTP face."""
