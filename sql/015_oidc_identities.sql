-- 015: people signed in through the organisation's OpenID Connect
-- provider (daemon/oidc.c) are kept as rows of tokens, so that what they
-- do is recorded like the work of an API token: decisions and timesheets
-- reference tokens (token_id), and effort_set_actor reads the row.
--
-- Such a row is a signed-in identity, not a token: its token_hash is 33
-- bytes ('\x00' and the SHA-256 of issuer and subject), which no bearer
-- token's 32-byte SHA-256 can equal, and effort_auth skips it.  role is
-- the identity's highest role at its last sign-in, oidc_roles all of
-- them; person_id is the person its claim names (for every role).
-- Revoking the row (POST /v1/tokens/{id}/revoke) shuts that identity out.
ALTER TABLE tokens
	ADD COLUMN oidc_issuer  text,
	ADD COLUMN oidc_subject text,
	ADD COLUMN oidc_roles   text[],
	ADD CONSTRAINT tokens_oidc_whole
		CHECK ((oidc_issuer IS NULL) = (oidc_subject IS NULL)
		   AND (oidc_subject IS NULL OR person_id IS NOT NULL));
ALTER TABLE tokens DROP CONSTRAINT tokens_check;
ALTER TABLE tokens ADD CONSTRAINT tokens_manager_person
	CHECK (oidc_subject IS NOT NULL OR (role = 'manager') = (person_id IS NOT NULL));
CREATE UNIQUE INDEX tokens_oidc_identity ON tokens (oidc_issuer, oidc_subject)
	WHERE oidc_subject IS NOT NULL;
