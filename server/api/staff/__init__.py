"""Staff in grids over HTTP."""
