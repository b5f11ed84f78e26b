"""The maintainer's tools: validate, review, scaffold and hot reload."""
