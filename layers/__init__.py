"""Layers: the registry of what the map can show, and the queries that read it from PostGIS."""
