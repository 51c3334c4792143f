"""The monthly sales plan, per employee (or the firm) and product group."""
