-- The flood rasters' water depths, beside the hazard-class zones made from them.
--
-- A zone says a band (0.5–1.5 m); civil protection decides by the depth at the house. Each
-- scenario's depth raster is kept here in tiles of EPSG:3794 (etl/raster.py writes them in the
-- load's transaction, with the zones), and the exposure report reads the depth at each building
-- and site from them (layers/exposure.py). Only tiles holding water are kept; a dry cell is the
-- band's no-data value. postgis_raster is not a trusted extension: the project's cluster creates
-- it beside PostGIS (scripts/pgcluster.sh); a database of one's own needs
-- `CREATE EXTENSION postgis_raster` by its superuser.

DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_extension WHERE extname = 'postgis_raster') THEN
        RAISE EXCEPTION USING
            MESSAGE = 'postgis_raster is missing in database ' || current_database() || ' / v bazi ni razširitve postgis_raster',
            HINT = 'as its superuser: CREATE EXTENSION postgis_raster (Debian package postgresql-15-postgis-3)';
    END IF;
END $$;

CREATE TABLE flood_depth (
    id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    scenario text NOT NULL,
    rast raster NOT NULL
);
CREATE INDEX flood_depth_hull_idx ON flood_depth USING gist (ST_ConvexHull(rast));
CREATE INDEX flood_depth_scenario_idx ON flood_depth (scenario);
COMMENT ON TABLE flood_depth IS 'Globina vode po scenarijih, v ploščicah rastra / water depth of each flood scenario, as raster tiles (m)';
