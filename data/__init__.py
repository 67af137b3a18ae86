"""Municipality profiles, real public files and the deterministic sample-data generator."""
