-- Alerts on the live readings (layers/alerts.toml, evaluated by the ingest after each batch,
-- etl/alerts.py): one row from when a condition is raised until it clears, with where it is
-- (a sensor's place, or a point inside the district it concerns). Raising and clearing are
-- audited.

CREATE TABLE alert (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    rule text NOT NULL,
    subject text NOT NULL,
    value double precision,
    geom geometry(Point, 3794) NOT NULL,
    raised_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    cleared_at timestamptz
);
CREATE UNIQUE INDEX alert_open_idx ON alert (rule, subject) WHERE cleared_at IS NULL;
CREATE INDEX alert_raised_idx ON alert (raised_at DESC);
COMMENT ON TABLE alert IS 'Opozorila / alerts: raised and cleared on the live readings';

ALTER TABLE audit_event DROP CONSTRAINT audit_event_action_check;
ALTER TABLE audit_event ADD CONSTRAINT audit_event_action_check CHECK (action IN (
    'sign_in', 'sign_in_failed', 'sign_in_locked', 'sign_out', 'device_sign_in', 'session_ended',
    'export_pdf', 'export_csv', 'export_gpkg', 'export_geojson', 'alert_raised', 'alert_cleared'));
