"""`esdr verify`: the deployed hosts checked against the inventory (a pytest-testinfra suite)."""
