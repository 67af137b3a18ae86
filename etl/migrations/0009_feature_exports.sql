-- A planner exports the features of a layer (a selection, or the layer as filtered) as a
-- GeoPackage, GeoJSON or CSV from the map's table: a session records those exports too. The
-- function is the one of 0007 with the two new actions; a session still records nothing else.

ALTER TABLE audit_event DROP CONSTRAINT audit_event_action_check;
ALTER TABLE audit_event ADD CONSTRAINT audit_event_action_check CHECK (action IN (
    'sign_in', 'sign_in_failed', 'sign_in_locked', 'sign_out', 'device_sign_in', 'session_ended',
    'export_pdf', 'export_csv', 'export_gpkg', 'export_geojson'));

CREATE OR REPLACE FUNCTION record_audit(p_token text, p_action text, p_detail text) RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
DECLARE
    found app_session := live_session(p_token);
BEGIN
    IF p_action NOT IN ('export_pdf', 'export_csv', 'export_gpkg', 'export_geojson') THEN
        RAISE EXCEPTION USING MESSAGE = 'a session records exports only, not ' || p_action;
    END IF;
    IF found.id IS NULL THEN
        RAISE EXCEPTION 'no live session for this token';
    END IF;
    PERFORM append_audit(found.username, found.role, p_action, p_detail, found.address);
END $$;
