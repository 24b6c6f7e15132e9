"""Basic and special grids, their history, import/export, topology audit and point assignment."""
