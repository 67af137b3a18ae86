"""ETL: read the files municipalities receive, check them, and load them into PostGIS safely."""
