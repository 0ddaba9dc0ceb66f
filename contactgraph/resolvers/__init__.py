"""Query, mutation and field resolvers, and the per-request loaders they share."""
