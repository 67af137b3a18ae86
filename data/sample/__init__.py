"""Deterministic sample data for a municipality, built inside its real boundary and districts.

Everything here is synthetic and is marked so in the catalogue; it respects the figures of the
profile (residents per district, km of roads and mains, Natura 2000 area, named hotspots).
"""
