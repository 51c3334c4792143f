"""The catalog: goods and services, their groups, price kinds, prices and stock."""
