"""Sales funnel and plan vs actual, aggregated in SQL."""
