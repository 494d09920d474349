-- JWT organisations (spec 002): a tenant may accept bearer JWTs signed with a key of its own, and the
-- `X-User-ID` header names a user inside that tenant, created on first sight.

-- One row per tenant that accepts JWTs; no row: it accepts none. A separate table rather than columns of
-- tenants, so that the tenant rows other code reads (and audits as JSON) never carry the key material.
CREATE TABLE tenant_jwt_settings (
  tenant_id        uuid PRIMARY KEY REFERENCES tenants (id) ON DELETE CASCADE,
  -- The only algorithm the tenant's tokens may use: a token naming another one is refused (no `none`,
  -- no HS256 verified with a public key).
  algorithm        text NOT NULL CHECK (algorithm IN ('HS256', 'RS256')),
  -- HS256: the shared secret, AES-256-GCM under the master key, bound to the context 'tenant-jwt:<tenant id>'.
  hs256_secret     bytea,
  -- RS256: the public key as PEM (not a secret).
  rs256_public_key text,
  created_at       timestamptz NOT NULL DEFAULT now(),
  updated_at       timestamptz NOT NULL DEFAULT now(),
  CHECK ((algorithm = 'HS256' AND hs256_secret IS NOT NULL AND rs256_public_key IS NULL)
         OR (algorithm = 'RS256' AND rs256_public_key IS NOT NULL AND hs256_secret IS NULL))
);

-- Every process caches the settings: any change is a tenant change (switchyard_notify_tenant reads the
-- tenant_id column of tables other than tenants).
CREATE TRIGGER tenant_jwt_settings_notify AFTER INSERT OR UPDATE OR DELETE ON tenant_jwt_settings
  FOR EACH ROW EXECUTE FUNCTION switchyard_notify_tenant();

-- The users JWT organisations name with X-User-ID. The external id is only unique within its tenant: the
-- same X-User-ID in two organisations is two users, and such a user is never a portal user (its email is
-- synthetic and it has no password).
CREATE TABLE jwt_users (
  tenant_id    uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  external_id  text NOT NULL CHECK (external_id <> '' AND length(external_id) <= 256),
  user_id      uuid NOT NULL UNIQUE REFERENCES users (id) ON DELETE CASCADE,
  created_at   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, external_id)
);
