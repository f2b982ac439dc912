"""Tools for running the platform locally and testing it."""
