-- What each flood scenario reaches over the whole municipality, kept for the exposure report.
--
-- The report's costly step is finding which features the zones reach and in which class
-- (layers/exposure_sql.py): 100,000 buildings take a tenth of a second against the zones, every
-- time the page opens. The whole municipality's answer is kept here instead, a row per scenario,
-- section (a layer, or the zones' own area), feature and hazard class, by the statement that
-- computes it (layers/exposure_store.py). A report of a drawn or chosen area still computes it.
--
-- The rows are good only while flood_exposure_made holds the statement's checksum: a write to
-- any table the statement reads (a load, an edit in QGIS) removes it through the trigger below,
-- which the migrations put on each such table; until a load or a migration fills the rows
-- again, reports compute them, as they did before this table. So an outdated row is never read.

CREATE TABLE flood_exposure (
    scenario text NOT NULL,
    section text NOT NULL,
    feature integer,
    rank integer NOT NULL,
    amount double precision,
    depth_m double precision
);
CREATE INDEX flood_exposure_section_idx ON flood_exposure (scenario, section);
COMMENT ON TABLE flood_exposure IS 'Kaj doseže poplava po scenarijih v vsej občini / what each flood scenario reaches over the whole municipality (kept for the exposure report)';
COMMENT ON COLUMN flood_exposure.rank IS 'the hazard class, most severe first (1 = velika)';
COMMENT ON COLUMN flood_exposure.amount IS 'the part inside the class: m (lines) or m² (areas); null for features counted once';

CREATE TABLE flood_exposure_made (
    only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    statement_sha256 text NOT NULL
);
COMMENT ON TABLE flood_exposure_made IS 'the checksum of the statement flood_exposure was filled by; no row: its rows are not current';

-- its schema's table, whatever the search path of the session that writes (QGIS's is its own)
CREATE FUNCTION flood_exposure_outdated() RETURNS trigger LANGUAGE plpgsql
SET search_path FROM CURRENT AS $$
BEGIN
    DELETE FROM flood_exposure_made;
    RETURN NULL;
END $$;
