"""The demo dataset and the synthetic graph generator."""
