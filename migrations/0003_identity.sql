-- Sign-in: portal sessions and login tokens, and change notifications for bring-your-own provider keys.

-- One signed-in user agent: a portal session (cookie) or a login token (POST /v1/users/login, used as a
-- bearer). Only a hash of the token is kept; the CSRF token guards state-changing calls that arrive with
-- the cookie, which a browser attaches on its own.
CREATE TABLE sessions (
  id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  token_hash    bytea NOT NULL UNIQUE CHECK (octet_length(token_hash) = 32),
  user_id       uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  csrf_token    text NOT NULL,
  -- How the user signed in: password or oidc.
  method        text NOT NULL CHECK (method IN ('password', 'oidc')),
  remote_address text,
  user_agent    text,
  created_at    timestamptz NOT NULL DEFAULT now(),
  expires_at    timestamptz NOT NULL,
  revoked_at    timestamptz
);
CREATE INDEX sessions_user_idx ON sessions (user_id);
CREATE INDEX sessions_expiry_idx ON sessions (expires_at);

-- A user's or tenant's own provider key changes which credential that user's or tenant's keys send
-- upstream, and the key cache holds it: tell it, as for the other rows it holds.
CREATE FUNCTION switchyard_notify_provider_key() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  changed provider_keys := CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
BEGIN
  IF changed.user_id IS NOT NULL THEN
    PERFORM pg_notify('switchyard_changes', 'user:' || changed.user_id);
  ELSE
    PERFORM pg_notify('switchyard_changes', 'tenant:' || changed.tenant_id);
  END IF;
  RETURN NULL;
END $$;

CREATE TRIGGER provider_keys_notify AFTER INSERT OR UPDATE OR DELETE ON provider_keys
  FOR EACH ROW EXECUTE FUNCTION switchyard_notify_provider_key();
