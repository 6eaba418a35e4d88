-- API tokens: only SHA-256 hashes are stored.

-- Looks up a token by the hex SHA-256 of its text.  Returns its role,
-- person and id, and left_on when its person's employment ended before
-- today, the organisation's (effort_today of the rules p_params: effortd
-- refuses it, 403: docs/operations.md, "How leavers lose access"), or no
-- row when unknown or revoked.  last_used_at is kept to the minute so that
-- busy clients do not write on every request.  (p_params may be left out:
-- an effortd of the release before calls effort_auth($1) until it is
-- replaced, and gets the default rules' zone.)
DROP FUNCTION IF EXISTS effort_auth(text);
DROP FUNCTION IF EXISTS effort_auth(text, jsonb);
CREATE FUNCTION effort_auth(p_hash text, p_params jsonb DEFAULT NULL)
RETURNS TABLE (role text, person_id text, token_id bigint, left_on date)
LANGUAGE plpgsql AS $$
BEGIN
	RETURN QUERY
	SELECT t.role, t.person_id, t.token_id,
	       CASE WHEN p.employment_end < effort_today(p_params) THEN p.employment_end END
	  FROM tokens t LEFT JOIN people p ON p.person_id = t.person_id
	 WHERE t.token_hash = decode(p_hash, 'hex') AND t.revoked_at IS NULL
	   AND t.oidc_subject IS NULL; -- a sign-in's row is no token (06_oidc.sql)
	IF FOUND THEN
		-- A last-use time is no evidence: its commit need not wait for a
		-- synchronous standby, so requests keep being authenticated
		-- while the standby is away (docs/operations.md).
		PERFORM set_config('synchronous_commit', 'local', true);
		UPDATE tokens t SET last_used_at = now()
		 WHERE t.token_hash = decode(p_hash, 'hex')
		   AND (t.last_used_at IS NULL OR t.last_used_at < now() - interval '1 minute');
	END IF;
END
$$;

-- Why a token of this role and person may not be made, or NULL: the
-- checks POST /v1/tokens and effortd --create-token share, word for word.
-- A leaver is one whose employment ended before the organisation's today
-- (the rules p_params).
DROP FUNCTION IF EXISTS effort_token_refusal(text, text);
CREATE OR REPLACE FUNCTION effort_token_refusal(p_role text, p_person text,
	p_params jsonb DEFAULT NULL)
RETURNS text LANGUAGE plpgsql STABLE AS $$
BEGIN
	RETURN CASE
	WHEN p_role IS NULL OR p_role NOT IN ('feed', 'manager', 'reviewer', 'admin') THEN
		'role must be feed, manager, reviewer or admin'
	WHEN p_role = 'manager' AND p_person IS NULL THEN
		'a manager token needs a person_id (effortd --create-token manager --person ID)'
	WHEN p_role <> 'manager' AND p_person IS NOT NULL THEN
		format('only manager tokens belong to a person: a token of role %s takes no person_id (--person)',
			p_role)
	WHEN p_person IS NOT NULL AND NOT EXISTS
	     (SELECT 1 FROM people WHERE person_id = p_person) THEN
		format('unknown person "%s": send it in the people feed first', p_person)
	WHEN p_person IS NOT NULL AND EXISTS
	     (SELECT 1 FROM people WHERE person_id = p_person
	         AND employment_end < effort_today(p_params)) THEN
		format('person "%s" left on %s: a leaver''s token would be refused at once',
			p_person, (SELECT employment_end FROM people WHERE person_id = p_person))
	END;
END
$$;

-- effortd --create-token (logged in the audit trail as made from the
-- command line).  A refusal is an error whose message is the API's.
DROP FUNCTION IF EXISTS token_create(text, text, text, text);
CREATE OR REPLACE FUNCTION token_create(p_hash text, p_role text,
	p_person text, p_label text, p_params jsonb DEFAULT NULL)
RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
	v_refusal text := effort_token_refusal(p_role, p_person, p_params);
	v_id bigint;
BEGIN
	IF v_refusal IS NOT NULL THEN
		RAISE EXCEPTION '%', v_refusal USING ERRCODE = 'check_violation';
	END IF;
	PERFORM set_config('effortd.actor', '{"via": "effortd --create-token"}', true);
	INSERT INTO tokens (token_hash, role, person_id, label)
	VALUES (decode(p_hash, 'hex'), p_role, p_person, p_label)
	RETURNING token_id INTO v_id;
	RETURN v_id;
END
$$;

-- Records who is acting in this transaction, for the audit trail's
-- triggers (effort_actor in 60_audit_log.sql): the token's id, role and
-- person, and for a sign-in through the identity provider (06_oidc.sql)
-- its issuer, subject and roles.  Every function that writes on behalf
-- of a token calls it.
CREATE OR REPLACE FUNCTION effort_set_actor(p_token bigint)
RETURNS text LANGUAGE sql AS $$
	SELECT set_config('effortd.actor', coalesce((SELECT (jsonb_build_object(
		'token_id', t.token_id, 'role', t.role, 'person_id', t.person_id)
		|| CASE WHEN t.oidc_subject IS NULL THEN '{}'::jsonb
		   ELSE jsonb_build_object('oidc_issuer', t.oidc_issuer,
			'oidc_subject', t.oidc_subject, 'roles', t.oidc_roles) END)::text
		FROM tokens t WHERE t.token_id = p_token), ''), true)
$$;

-- A token as GET /v1/tokens lists it: never the token nor its hash.
CREATE OR REPLACE FUNCTION effort_token_doc(t tokens)
RETURNS jsonb LANGUAGE sql STABLE AS $$
	SELECT jsonb_build_object('id', t.token_id, 'role', t.role,
		'person_id', t.person_id, 'label', t.label, 'created_at', t.created_at,
		'last_used_at', t.last_used_at, 'revoked_at', t.revoked_at)
		|| CASE WHEN t.oidc_subject IS NULL THEN '{}'::jsonb
		   ELSE jsonb_build_object('oidc_subject', t.oidc_subject) END
$$;

CREATE OR REPLACE FUNCTION tokens_list()
RETURNS jsonb LANGUAGE sql STABLE AS $$
	SELECT jsonb_build_object('tokens', coalesce(jsonb_agg(effort_token_doc(t)
		ORDER BY t.token_id), '[]'))
	  FROM tokens t
$$;

-- POST /v1/tokens: stores a new token's hash (effortd made the token and
-- shows it once).  p_actor: the admin token creating it.
DROP FUNCTION IF EXISTS token_issue(text, text, text, text, bigint);
CREATE OR REPLACE FUNCTION token_issue(p_hash text, p_role text,
	p_person text, p_label text, p_actor bigint, p_params jsonb DEFAULT NULL)
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
	t tokens;
	v_refusal text := effort_token_refusal(p_role, p_person, p_params);
BEGIN
	PERFORM effort_set_actor(p_actor);
	IF v_refusal IS NOT NULL THEN
		RETURN effort_refuse(422, v_refusal);
	END IF;
	INSERT INTO tokens (token_hash, role, person_id, label)
	VALUES (decode(p_hash, 'hex'), p_role, p_person, p_label)
	RETURNING * INTO t;
	RETURN jsonb_build_object('token', effort_token_doc(t));
END
$$;

-- POST /v1/tokens/{id}/revoke.  The last active admin API token is kept
-- (409): without one nobody could manage tokens over the API.  A sign-in's
-- row (06_oidc.sql) does not count as one: it keeps the role of its last
-- sign-in, though its person may since have left or left the admin group
-- (the identity provider knows, the database does not).  Revoking an
-- admin API token first locks every active one, in id order, so that two
-- revocations at once cannot each leave the other as the last.
CREATE OR REPLACE FUNCTION token_revoke(p_id bigint, p_actor bigint)
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
	t tokens;
BEGIN
	PERFORM effort_set_actor(p_actor);
	IF EXISTS (SELECT 1 FROM tokens WHERE token_id = p_id AND role = 'admin'
	           AND oidc_subject IS NULL) THEN
		PERFORM 1 FROM tokens WHERE role = 'admin' AND revoked_at IS NULL
		   AND oidc_subject IS NULL
		 ORDER BY token_id FOR UPDATE;
	END IF;
	SELECT * INTO t FROM tokens WHERE token_id = p_id FOR UPDATE;
	IF NOT FOUND THEN
		RETURN effort_refuse(404, 'no such token');
	ELSIF t.revoked_at IS NOT NULL THEN
		RETURN effort_refuse(409, format('token %s was revoked at %s', p_id,
			to_char(t.revoked_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')));
	ELSIF t.role = 'admin' AND t.oidc_subject IS NULL AND NOT EXISTS (SELECT 1 FROM tokens o
	      WHERE o.role = 'admin' AND o.revoked_at IS NULL AND o.oidc_subject IS NULL
	        AND o.token_id <> p_id) THEN
		RETURN effort_refuse(409, format('token %s is the last active admin token; '
			'revoking it would lock every administrator out. Create another first '
			'(effortd --create-token admin, or POST /v1/tokens with role admin), '
			'then revoke this one', p_id));
	END IF;
	UPDATE tokens SET revoked_at = now() WHERE token_id = p_id RETURNING * INTO t;
	RETURN jsonb_build_object('token', effort_token_doc(t));
END
$$;
