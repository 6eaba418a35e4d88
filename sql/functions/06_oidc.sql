-- Sign-in through the organisation's OpenID Connect provider: the person
-- a verified access token names, their roles, and the identity row the
-- audit trail records (sql/015_oidc_identities.sql).  daemon/oidc.c has
-- checked the signature, issuer, audience and times; this decides who it
-- is and what they may do.

-- The person the token's claim names: p_match 'person_id' (the claim is
-- the people feed's person_id, e.g. an employee number) or 'email'
-- (matched to the people feed's email, ignoring case).  p_claim is the
-- claim's name, for messages.  p_group_roles: the roles the token's
-- groups give ('reviewer', 'admin'); 'manager' comes from the data: a
-- person who line-manages someone still employed, or who holds a
-- delegation in force today.  Answers {"token_id", "person_id", "roles"}
-- or a 403 refusal: an unknown person, a leaver (employment ended), an
-- identity an administrator revoked, or nobody with a role.  Today is
-- the organisation's (effort_today of the rules p_params).
DROP FUNCTION IF EXISTS effort_oidc_signin(text, text, text, text, text, text[]);
CREATE OR REPLACE FUNCTION effort_oidc_signin(p_issuer text, p_subject text,
	p_match text, p_claim text, p_value text, p_group_roles text[],
	p_params jsonb DEFAULT NULL)
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
	v_today date := effort_today(p_params);
	p people;
	n int;
	v_roles text[];
	v_top text;
	t tokens;
BEGIN
	SELECT count(*) INTO n FROM people x
	 WHERE CASE p_match WHEN 'email' THEN lower(x.email) = lower(p_value)
	                    ELSE x.person_id = p_value END;
	IF n <> 1 THEN
		RETURN effort_refuse(403, format('signed in as %s, but %s: no person in '
			'the people feed has %s "%s" (the token''s %s claim); ask the '
			'administrator to check the people feed',
			p_subject, CASE WHEN n = 0 THEN 'unknown' ELSE 'ambiguous' END,
			CASE p_match WHEN 'email' THEN 'email' ELSE 'person_id' END,
			p_value, p_claim));
	END IF;
	SELECT * INTO p FROM people x
	 WHERE CASE p_match WHEN 'email' THEN lower(x.email) = lower(p_value)
	                    ELSE x.person_id = p_value END;
	IF p.employment_end IS NOT NULL AND p.employment_end < v_today THEN
		RETURN effort_refuse(403, format('signed in as %s (person %s), who left '
			'on %s: access ended with the employment', p_subject, p.person_id,
			p.employment_end));
	END IF;
	SELECT * INTO t FROM tokens
	 WHERE oidc_issuer = p_issuer AND oidc_subject = p_subject;
	IF t.revoked_at IS NOT NULL THEN
		RETURN effort_refuse(403, format('signed in as %s (person %s), whose '
			'sign-in was revoked by an administrator (token %s)', p_subject,
			p.person_id, t.token_id));
	END IF;
	v_roles := ARRAY(SELECT r FROM unnest(ARRAY['manager', 'reviewer', 'admin']) r
		WHERE r = ANY (p_group_roles)
		   OR (r = 'manager' AND (EXISTS (SELECT 1 FROM people s
		         WHERE s.line_manager_id = p.person_id
		           AND (s.employment_end IS NULL OR s.employment_end >= v_today))
		       OR EXISTS (SELECT 1 FROM delegations d
		         WHERE d.delegate_id = p.person_id
		           AND v_today BETWEEN d.start_date AND d.end_date))));
	IF cardinality(v_roles) = 0 THEN
		RETURN effort_refuse(403, format('signed in as %s (person %s), who has '
			'no role here: not a line manager, no delegation in force, and not '
			'in a reviewer or admin group', p_subject, p.person_id));
	END IF;
	v_top := v_roles[cardinality(v_roles)];
	IF t.token_id IS NULL THEN
		PERFORM set_config('effortd.actor', jsonb_build_object('role', v_top,
			'person_id', p.person_id, 'oidc_issuer', p_issuer,
			'oidc_subject', p_subject)::text, true);
		INSERT INTO tokens (token_hash, role, person_id, label, oidc_issuer,
			oidc_subject, oidc_roles)
		VALUES ('\x00'::bytea || sha256(convert_to(p_issuer || ' ' || p_subject, 'UTF8')),
			v_top, p.person_id, 'OIDC sign-in ' || p_subject, p_issuer,
			p_subject, v_roles)
		ON CONFLICT (oidc_issuer, oidc_subject) WHERE oidc_subject IS NOT NULL
		DO UPDATE SET role = EXCLUDED.role
		RETURNING * INTO t;
	ELSIF t.role <> v_top OR t.person_id <> p.person_id
	      OR t.oidc_roles IS DISTINCT FROM v_roles THEN
		PERFORM effort_set_actor(t.token_id);
		UPDATE tokens SET role = v_top, person_id = p.person_id,
			oidc_roles = v_roles
		 WHERE token_id = t.token_id RETURNING * INTO t;
	END IF;
	IF t.last_used_at IS NULL OR t.last_used_at < now() - interval '1 minute' THEN
		PERFORM set_config('synchronous_commit', 'local', true);
		UPDATE tokens SET last_used_at = now() WHERE token_id = t.token_id;
	END IF;
	RETURN jsonb_build_object('token_id', t.token_id, 'person_id', p.person_id,
		'roles', to_jsonb(v_roles));
END
$$;
