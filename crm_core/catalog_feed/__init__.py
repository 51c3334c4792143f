"""The catalog as a feed for marketplaces (YML): its secret token and its rows in batches."""
