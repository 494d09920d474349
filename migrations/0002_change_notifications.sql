-- Change notifications for the caches every gateway process keeps (API keys, the model catalogue).
-- Each trigger sends NOTIFY switchyard_changes with what changed; a listener in each process drops what
-- it cached, so that revocations and limit changes reach every process within a second. Payloads:
--   key:<hex of key_hash>   an API key row
--   tenant:<uuid>           a tenant, its model grants or its memberships
--   user:<uuid>             a user (disabled, deleted)
--   catalog                 providers or models
-- NOTIFY is sent when the transaction commits, and identical payloads of one transaction are sent once.

CREATE FUNCTION switchyard_notify_api_key() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP IN ('UPDATE', 'DELETE') THEN
    PERFORM pg_notify('switchyard_changes', 'key:' || encode(OLD.key_hash, 'hex'));
  END IF;
  IF TG_OP IN ('INSERT', 'UPDATE') THEN
    PERFORM pg_notify('switchyard_changes', 'key:' || encode(NEW.key_hash, 'hex'));
  END IF;
  RETURN NULL;
END $$;

-- last_used_at is bookkeeping, not something a cache holds: touching it must not flush the key.
CREATE TRIGGER api_keys_notify
  AFTER INSERT OR DELETE OR UPDATE OF tenant_id, user_id, name, key_hash, scopes, budget_micros, rpm, tpm,
                                    parallel, expires_at, revoked_at
  ON api_keys FOR EACH ROW EXECUTE FUNCTION switchyard_notify_api_key();

-- For tenants (id) and for tenant_models and memberships (tenant_id).
CREATE FUNCTION switchyard_notify_tenant() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  old_row jsonb := CASE WHEN TG_OP IN ('UPDATE', 'DELETE') THEN to_jsonb(OLD) END;
  new_row jsonb := CASE WHEN TG_OP IN ('INSERT', 'UPDATE') THEN to_jsonb(NEW) END;
  column_name text := CASE WHEN TG_TABLE_NAME = 'tenants' THEN 'id' ELSE 'tenant_id' END;
BEGIN
  IF old_row IS NOT NULL THEN
    PERFORM pg_notify('switchyard_changes', 'tenant:' || (old_row ->> column_name));
  END IF;
  IF new_row IS NOT NULL THEN
    PERFORM pg_notify('switchyard_changes', 'tenant:' || (new_row ->> column_name));
  END IF;
  RETURN NULL;
END $$;

CREATE TRIGGER tenants_notify AFTER UPDATE OR DELETE ON tenants
  FOR EACH ROW EXECUTE FUNCTION switchyard_notify_tenant();
CREATE TRIGGER tenant_models_notify AFTER INSERT OR UPDATE OR DELETE ON tenant_models
  FOR EACH ROW EXECUTE FUNCTION switchyard_notify_tenant();
CREATE TRIGGER memberships_notify AFTER INSERT OR UPDATE OR DELETE ON memberships
  FOR EACH ROW EXECUTE FUNCTION switchyard_notify_tenant();

CREATE FUNCTION switchyard_notify_user() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('switchyard_changes', 'user:' || OLD.id);
  RETURN NULL;
END $$;

-- Only what decides whether a user's keys work; logins (last_login_at) must not flush them.
CREATE TRIGGER users_notify AFTER DELETE OR UPDATE OF disabled ON users
  FOR EACH ROW EXECUTE FUNCTION switchyard_notify_user();

CREATE FUNCTION switchyard_notify_catalog() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('switchyard_changes', 'catalog');
  RETURN NULL;
END $$;

CREATE TRIGGER providers_notify AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON providers
  FOR EACH STATEMENT EXECUTE FUNCTION switchyard_notify_catalog();
CREATE TRIGGER models_notify AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON models
  FOR EACH STATEMENT EXECUTE FUNCTION switchyard_notify_catalog();
