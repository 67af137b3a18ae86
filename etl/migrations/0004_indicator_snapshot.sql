-- The values of the wall's indicators, taken by the ETL after each load that changes data, so a
-- tile can show its trend against the value before the latest data arrived.
CREATE TABLE indicator_snapshot (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    indicator text NOT NULL,
    value double precision,
    data_time timestamptz NOT NULL,  -- the newest load of the indicator's source layers
    taken_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX indicator_snapshot_idx ON indicator_snapshot (indicator, data_time DESC);
COMMENT ON TABLE indicator_snapshot IS 'Vrednosti kazalnikov po nalaganjih / indicator values after each load';
