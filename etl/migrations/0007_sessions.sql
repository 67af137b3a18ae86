-- Sessions kept on the server, limits on sign-in, and an audit trail the dashboards can neither
-- forge nor read.
--
-- The dashboards' role reads none of these three tables. It works on them only through the
-- functions below, which run with the owner's rights and take the identity of whoever acts from
-- the session record, never from their arguments. A session is known by the hash of its token
-- (the token itself lives only in the person's signed cookie), so even a copy of the table opens
-- no session.

CREATE TABLE app_session (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    token_hash bytea NOT NULL UNIQUE,
    username text NOT NULL,
    role text NOT NULL,
    kind text NOT NULL CHECK (kind IN ('person', 'device', 'oidc')),
    address text,
    started_at timestamptz NOT NULL DEFAULT now(),
    seen_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    ended_at timestamptz,
    ended_why text CHECK (ended_why IN ('sign_out', 'ended_by_admin', 'role_changed', 'user_removed'))
);
CREATE INDEX app_session_active_idx ON app_session (username) WHERE ended_at IS NULL;
COMMENT ON TABLE app_session IS 'Seje / sessions: who is signed in, until when; ended at sign-out, by an admin or when the role changes';

-- Failed sign-ins per account ('account:<name>') and per address ('address:<ip>') in the current
-- burst. Rows of bursts long over are removed as new failures come, so the table stays small.
CREATE TABLE sign_in_throttle (
    subject text PRIMARY KEY,
    failures integer NOT NULL,
    first_at timestamptz NOT NULL,
    next_try timestamptz NOT NULL,
    locked_until timestamptz
);
COMMENT ON TABLE sign_in_throttle IS 'Omejitve prijave / sign-in limits: failures, the wait they impose, lockouts';

ALTER TABLE audit_event DROP CONSTRAINT audit_event_action_check;
ALTER TABLE audit_event ADD CONSTRAINT audit_event_action_check CHECK (action IN (
    'sign_in', 'sign_in_failed', 'sign_in_locked', 'sign_out', 'device_sign_in', 'session_ended',
    'export_pdf', 'export_csv'));
DROP FUNCTION record_audit(text, text, text, text, text);

CREATE FUNCTION token_hash(p_token text) RETURNS bytea
    LANGUAGE sql IMMUTABLE STRICT AS $$ SELECT sha256(convert_to(p_token, 'UTF8')) $$;

CREATE FUNCTION append_audit(p_username text, p_role text, p_action text, p_detail text,
                             p_address text) RETURNS void
    LANGUAGE sql AS $$ INSERT INTO audit_event (username, role, action, detail, address)
        VALUES (left(p_username, 200), p_role, p_action, left(p_detail, 2000), left(p_address, 100)) $$;
REVOKE ALL ON FUNCTION append_audit(text, text, text, text, text) FROM PUBLIC;

-- The session a token opens now: unexpired and not ended.
CREATE FUNCTION live_session(p_token text) RETURNS app_session
    LANGUAGE sql STABLE AS $$ SELECT * FROM app_session WHERE token_hash = token_hash(p_token)
        AND ended_at IS NULL AND expires_at > now() $$;
REVOKE ALL ON FUNCTION live_session(text) FROM PUBLIC;

CREATE FUNCTION session_open(p_token text, p_username text, p_role text, p_kind text,
                             p_hours double precision, p_address text) RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
BEGIN
    IF length(p_token) < 32 THEN
        RAISE EXCEPTION 'a session token has at least 32 characters';
    END IF;
    INSERT INTO app_session (token_hash, username, role, kind, address, expires_at)
    VALUES (token_hash(p_token), left(p_username, 200), p_role, p_kind, left(p_address, 100),
            now() + make_interval(secs => p_hours * 3600));
    DELETE FROM sign_in_throttle WHERE subject = 'account:' || p_username;
    PERFORM append_audit(p_username, p_role,
                         CASE p_kind WHEN 'device' THEN 'device_sign_in' ELSE 'sign_in' END,
                         CASE p_kind WHEN 'oidc' THEN 'oidc' ELSE '' END, p_address);
    -- a month after its end a session is gone; the audit trail keeps that it was
    DELETE FROM app_session WHERE coalesce(ended_at, expires_at) < now() - interval '30 days';
END $$;

-- Who a token's session is; marks it seen (at most once a minute: this runs on every request).
CREATE FUNCTION session_who(p_token text)
    RETURNS TABLE (session_id bigint, username text, role text, kind text)
    LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
DECLARE
    found app_session := live_session(p_token);
BEGIN
    IF found.id IS NULL THEN
        RETURN;
    END IF;
    IF found.seen_at < now() - interval '1 minute' THEN
        UPDATE app_session SET seen_at = now() WHERE id = found.id;
    END IF;
    RETURN QUERY SELECT found.id, found.username, found.role, found.kind;
END $$;

CREATE FUNCTION session_close(p_token text, p_why text) RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
DECLARE
    found app_session := live_session(p_token);
BEGIN
    IF found.id IS NULL THEN
        RETURN;
    END IF;
    UPDATE app_session SET ended_at = now(), ended_why = p_why WHERE id = found.id;
    PERFORM append_audit(found.username, found.role,
                         CASE p_why WHEN 'sign_out' THEN 'sign_out' ELSE 'session_ended' END,
                         CASE p_why WHEN 'sign_out' THEN '' ELSE p_why END, found.address);
END $$;

-- An action of a session (an export, a report download): the session says who and from where.
CREATE FUNCTION record_audit(p_token text, p_action text, p_detail text) RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
DECLARE
    found app_session := live_session(p_token);
BEGIN
    IF p_action NOT IN ('export_pdf', 'export_csv') THEN
        RAISE EXCEPTION USING MESSAGE = 'a session records exports only, not ' || p_action;
    END IF;
    IF found.id IS NULL THEN
        RAISE EXCEPTION 'no live session for this token';
    END IF;
    PERFORM append_audit(found.username, found.role, p_action, p_detail, found.address);
END $$;

-- Seconds before this account may try to sign in again from this address (0: now).
CREATE FUNCTION sign_in_wait(p_username text, p_address text) RETURNS integer
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path FROM CURRENT AS $$
    SELECT coalesce(ceil(extract(epoch FROM max(greatest(next_try, locked_until)) - now()))::int, 0)
      FROM sign_in_throttle
     WHERE subject IN ('account:' || p_username, 'address:' || p_address)
       AND greatest(next_try, locked_until) > now() $$;

-- A failed sign-in: counted against the account and the address, audited, and the wait it now
-- imposes returned. The account waits 1, 2, 4 ... s after its 3rd failure in 15 minutes and is
-- locked for 15 minutes at its 10th; an address (many people may share one) after 10 and 50. A
-- lockout is audited once, when it begins.
CREATE FUNCTION sign_in_failed(p_username text, p_address text, p_detail text) RETURNS integer
    LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
DECLARE
    limits record;
    counted sign_in_throttle;
BEGIN
    DELETE FROM sign_in_throttle
     WHERE coalesce(locked_until, next_try) < now() - interval '15 minutes'
       AND first_at < now() - interval '15 minutes';
    PERFORM append_audit(p_username, NULL, 'sign_in_failed', p_detail, p_address);
    FOR limits IN SELECT * FROM (VALUES ('account:' || left(p_username, 200), 3, 10, 'account'),
                                        ('address:' || left(p_address, 100), 10, 50, 'address'))
                             AS l (subject, free, lock_at, what) LOOP
        INSERT INTO sign_in_throttle AS t (subject, failures, first_at, next_try)
        VALUES (limits.subject, 1, now(), now())
        ON CONFLICT (subject) DO UPDATE
           SET failures = CASE WHEN t.first_at < now() - interval '15 minutes'
                               AND coalesce(t.locked_until, now()) <= now() THEN 1
                               ELSE t.failures + 1 END,
               first_at = CASE WHEN t.first_at < now() - interval '15 minutes'
                               AND coalesce(t.locked_until, now()) <= now() THEN now()
                               ELSE t.first_at END
        RETURNING * INTO counted;
        IF counted.failures >= limits.lock_at AND coalesce(counted.locked_until, now()) <= now() THEN
            UPDATE sign_in_throttle SET locked_until = now() + interval '15 minutes'
             WHERE subject = limits.subject;
            PERFORM append_audit(p_username, NULL, 'sign_in_locked',
                                 limits.what || ' locked for 15 min after ' || counted.failures
                                 || ' failures', p_address);
        ELSIF counted.failures > limits.free THEN
            UPDATE sign_in_throttle
               SET next_try = now() + make_interval(secs => least(2 ^ (counted.failures - limits.free - 1), 60))
             WHERE subject = limits.subject;
        END IF;
    END LOOP;
    RETURN sign_in_wait(p_username, p_address);
END $$;

-- What only an admin's session may read or do: the trail, the live sessions, the limits in force.
CREATE FUNCTION require_admin(p_token text) RETURNS app_session
    LANGUAGE plpgsql STABLE AS $$
DECLARE
    found app_session := live_session(p_token);
BEGIN
    IF found.id IS NULL OR found.role <> 'admin' THEN
        RAISE EXCEPTION 'only an admin''s session may do this' USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN found;
END $$;
REVOKE ALL ON FUNCTION require_admin(text) FROM PUBLIC;

CREATE FUNCTION audit_trail(p_token text, p_limit integer)
    RETURNS TABLE (at timestamptz, username text, role text, action text, detail text, address text)
    LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path FROM CURRENT AS $$
BEGIN
    PERFORM require_admin(p_token);
    RETURN QUERY SELECT e.at, e.username, e.role, e.action, e.detail, e.address
                   FROM audit_event e ORDER BY e.at DESC, e.id DESC LIMIT p_limit;
END $$;

CREATE FUNCTION session_list(p_token text)
    RETURNS TABLE (id bigint, username text, role text, kind text, address text,
                   started_at timestamptz, seen_at timestamptz, expires_at timestamptz)
    LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path FROM CURRENT AS $$
BEGIN
    PERFORM require_admin(p_token);
    RETURN QUERY SELECT s.id, s.username, s.role, s.kind, s.address, s.started_at, s.seen_at,
                        s.expires_at
                   FROM app_session s WHERE s.ended_at IS NULL AND s.expires_at > now()
                  ORDER BY s.seen_at DESC;
END $$;

CREATE FUNCTION session_end(p_token text, p_session_id bigint) RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
DECLARE
    admin app_session := require_admin(p_token);
    ended app_session;
BEGIN
    UPDATE app_session SET ended_at = now(), ended_why = 'ended_by_admin'
     WHERE id = p_session_id AND ended_at IS NULL RETURNING * INTO ended;
    IF ended.id IS NOT NULL THEN
        PERFORM append_audit(admin.username, admin.role, 'session_ended',
                             'ended ' || ended.username || ' (' || ended.role || ', #' || ended.id || ')',
                             admin.address);
    END IF;
END $$;

CREATE FUNCTION sign_in_limits(p_token text)
    RETURNS TABLE (subject text, failures integer, first_at timestamptz, next_try timestamptz,
                   locked_until timestamptz)
    LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path FROM CURRENT AS $$
BEGIN
    PERFORM require_admin(p_token);
    RETURN QUERY SELECT t.subject, t.failures, t.first_at, t.next_try, t.locked_until
                   FROM sign_in_throttle t WHERE t.first_at > now() - interval '15 minutes'
                     OR t.locked_until > now() ORDER BY t.locked_until DESC NULLS LAST, t.failures DESC;
END $$;

REVOKE ALL ON FUNCTION session_open(text, text, text, text, double precision, text),
    session_who(text), session_close(text, text), record_audit(text, text, text),
    sign_in_wait(text, text), sign_in_failed(text, text, text), audit_trail(text, integer),
    session_list(text), session_end(text, bigint), sign_in_limits(text) FROM PUBLIC;
