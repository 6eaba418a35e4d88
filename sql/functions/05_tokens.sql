-- API tokens: only SHA-256 hashes are stored.

-- Looks up a token by the hex SHA-256 of its text.  Returns its role,
-- person and id, or no row when unknown or revoked.  last_used_at is kept
-- to the minute so that busy clients do not write on every request.
CREATE OR REPLACE FUNCTION effort_auth(p_hash text)
RETURNS TABLE (role text, person_id text, token_id bigint)
LANGUAGE plpgsql AS $$
BEGIN
	RETURN QUERY
	SELECT t.role, t.person_id, t.token_id FROM tokens t
	 WHERE t.token_hash = decode(p_hash, 'hex') AND t.revoked_at IS NULL;
	IF FOUND THEN
		UPDATE tokens t SET last_used_at = now()
		 WHERE t.token_hash = decode(p_hash, 'hex')
		   AND (t.last_used_at IS NULL OR t.last_used_at < now() - interval '1 minute');
	END IF;
END
$$;

CREATE OR REPLACE FUNCTION token_create(p_hash text, p_role text,
	p_person text, p_label text)
RETURNS bigint LANGUAGE sql AS $$
	INSERT INTO tokens (token_hash, role, person_id, label)
	VALUES (decode(p_hash, 'hex'), p_role, p_person, p_label)
	RETURNING token_id
$$;
