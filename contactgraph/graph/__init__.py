"""The domain and its storage: the only package that knows a database."""
