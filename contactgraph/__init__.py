"""contactgraph: organizations, contacts and users in one graph, served over GraphQL."""

__version__ = "0.1.0"
