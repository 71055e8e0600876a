"""Profiles: pydantic models, loaders, derived dose, layered limits and placement rules."""
