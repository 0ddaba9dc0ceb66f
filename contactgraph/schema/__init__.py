"""Strawberry types, inputs, enums and errors; `build_schema` assembles them."""
