"""Customer orders: kinds and states, lines and totals, payments, shipments, indicators."""
