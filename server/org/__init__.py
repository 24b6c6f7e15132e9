"""The administrative tree, command centres, departments, and the people in them."""
