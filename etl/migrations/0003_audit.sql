-- The audit trail: sign-ins, failed sign-ins, sign-outs, exports and report downloads.
--
-- The dashboards' role may not write any table. It records events through record_audit(), which
-- runs with the owner's rights and can only append: the trail cannot be edited from the app.

CREATE TABLE audit_event (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at timestamptz NOT NULL DEFAULT now(),
    username text,
    role text,
    action text NOT NULL CHECK (action IN ('sign_in', 'sign_in_failed', 'sign_out',
                                           'device_sign_in', 'export_pdf', 'export_csv')),
    detail text,
    address text
);
CREATE INDEX audit_event_at_idx ON audit_event (at DESC);
COMMENT ON TABLE audit_event IS 'Revizijska sled / audit trail: who did what, when, from where';

CREATE FUNCTION record_audit(p_username text, p_role text, p_action text, p_detail text,
                             p_address text) RETURNS void
    LANGUAGE sql SECURITY DEFINER SET search_path FROM CURRENT
    AS $$ INSERT INTO audit_event (username, role, action, detail, address)
          VALUES (left(p_username, 200), p_role, p_action, left(p_detail, 2000), left(p_address, 100)) $$;
REVOKE ALL ON FUNCTION record_audit(text, text, text, text, text) FROM PUBLIC;
