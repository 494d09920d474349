-- The first schema: identity, tenancy, catalogue, keys, usage and audit.
-- Files, batches, sessions and responses come in later migrations.
--
-- Conventions:
--   * ids are uuid (gen_random_uuid() is core since Postgres 13: no extension needed);
--   * money is integer micro-dollars (bigint): 1 USD = 1 000 000, so sums are exact;
--   * a nullable limit (budget, rpm, tpm, parallel) means unlimited;
--   * every time is timestamptz; updated_at is set by the application, not by triggers.

CREATE TABLE tenants (
  id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  kind            text NOT NULL CHECK (kind IN ('personal', 'shared')),
  name            text NOT NULL UNIQUE CHECK (name <> ''),
  budget_micros   bigint CHECK (budget_micros >= 0),
  -- The window a budget covers: spend starts again at the start of each period (UTC); 'total' never resets.
  budget_period   text NOT NULL DEFAULT 'monthly'
                  CHECK (budget_period IN ('daily', 'weekly', 'monthly', 'total')),
  rpm             integer CHECK (rpm >= 0),
  tpm             bigint CHECK (tpm >= 0),
  parallel        integer CHECK (parallel >= 0),
  -- true: every enabled model; false: only the models granted in tenant_models.
  all_models      boolean NOT NULL DEFAULT true,
  created_at      timestamptz NOT NULL DEFAULT now(),
  updated_at      timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE users (
  id                  uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  email               text NOT NULL CHECK (email <> ''),
  display_name        text NOT NULL DEFAULT '',
  -- Argon2id in PHC string form; null for users who only sign in through OIDC.
  password_hash       text,
  is_admin            boolean NOT NULL DEFAULT false,
  disabled            boolean NOT NULL DEFAULT false,
  oidc_issuer         text,
  oidc_subject        text,
  -- A personal tenant is the user's own; deleting it must not delete the user.
  personal_tenant_id  uuid UNIQUE REFERENCES tenants (id) ON DELETE SET NULL,
  created_at          timestamptz NOT NULL DEFAULT now(),
  updated_at          timestamptz NOT NULL DEFAULT now(),
  last_login_at       timestamptz,
  CHECK ((oidc_issuer IS NULL) = (oidc_subject IS NULL))
);
-- Emails compare case-insensitively; an expression index instead of citext, which is an extension.
CREATE UNIQUE INDEX users_email_lower_key ON users (lower(email));
CREATE UNIQUE INDEX users_oidc_identity_key ON users (oidc_issuer, oidc_subject) WHERE oidc_issuer IS NOT NULL;

CREATE TABLE memberships (
  tenant_id   uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  user_id     uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  role        text NOT NULL CHECK (role IN ('owner', 'admin', 'user', 'viewer')),
  -- Kept when the inviter is deleted: the membership outlives who granted it.
  invited_by  uuid REFERENCES users (id) ON DELETE SET NULL,
  created_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, user_id)
);
CREATE INDEX memberships_user_idx ON memberships (user_id);

-- Invitations to register (POST /v1/users/register with invite_token): only a hash of the token is kept.
CREATE TABLE invites (
  id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  token_hash  bytea NOT NULL UNIQUE,
  -- When set, only this address may use the invite (compared case-insensitively).
  email       text,
  tenant_id   uuid REFERENCES tenants (id) ON DELETE CASCADE,
  role        text NOT NULL DEFAULT 'user' CHECK (role IN ('owner', 'admin', 'user', 'viewer')),
  created_by  uuid REFERENCES users (id) ON DELETE SET NULL,
  created_at  timestamptz NOT NULL DEFAULT now(),
  expires_at  timestamptz NOT NULL,
  used_at     timestamptz,
  used_by     uuid REFERENCES users (id) ON DELETE SET NULL
);

CREATE TABLE providers (
  id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  name         text NOT NULL UNIQUE CHECK (name <> ''),
  type         text NOT NULL CHECK (type IN ('openai', 'openai_compatible', 'azure', 'anthropic', 'gemini',
                                             'vertex', 'bedrock', 'mock', 'token_exchange')),
  base_url     text NOT NULL DEFAULT '',
  -- AES-256-GCM ciphertext (under the master key) of the type's secret fields, e.g. an API key.
  credentials  bytea,
  -- Non-secret settings only (timeout_s, api_version, verify_tls, region, ...): readable by admins.
  settings     jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(settings) = 'object'),
  enabled      boolean NOT NULL DEFAULT true,
  created_at   timestamptz NOT NULL DEFAULT now(),
  updated_at   timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE models (
  id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  alias           text NOT NULL UNIQUE CHECK (alias <> ''),
  -- RESTRICT: a provider still serving models must not vanish under them; disable it instead.
  provider_id     uuid NOT NULL REFERENCES providers (id) ON DELETE RESTRICT,
  upstream_model  text NOT NULL CHECK (upstream_model <> ''),
  capabilities    text[] NOT NULL DEFAULT '{}'
                  CHECK (capabilities <@ ARRAY['chat', 'completions', 'embeddings', 'images', 'image_edits',
                                               'audio_transcription', 'audio_speech', 'responses']::text[]),
  enabled         boolean NOT NULL DEFAULT true,
  -- Prices in micro-dollars per million tokens: $0.15 / Mtok is 150000.
  input_micros_per_mtok         bigint NOT NULL DEFAULT 0 CHECK (input_micros_per_mtok >= 0),
  output_micros_per_mtok        bigint NOT NULL DEFAULT 0 CHECK (output_micros_per_mtok >= 0),
  -- Null: cached input tokens cost as much as other input tokens.
  cached_input_micros_per_mtok  bigint CHECK (cached_input_micros_per_mtok >= 0),
  settings        jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(settings) = 'object'),
  created_at      timestamptz NOT NULL DEFAULT now(),
  updated_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX models_provider_idx ON models (provider_id);

-- Models a tenant may use when tenants.all_models is false.
CREATE TABLE tenant_models (
  tenant_id   uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  model_id    uuid NOT NULL REFERENCES models (id) ON DELETE CASCADE,
  created_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, model_id)
);
CREATE INDEX tenant_models_model_idx ON tenant_models (model_id);

CREATE TABLE api_keys (
  id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  tenant_id     uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  -- The owning user, if any (a user token is a key of the user's personal tenant); it dies with the user.
  user_id       uuid REFERENCES users (id) ON DELETE CASCADE,
  name          text NOT NULL CHECK (name <> ''),
  -- Keyed hash (HMAC-SHA-256) of the secret: the secret itself is never stored.
  key_hash      bytea NOT NULL UNIQUE CHECK (octet_length(key_hash) = 32),
  -- The first characters of the secret, shown in lists so a user can tell keys apart.
  prefix        text NOT NULL,
  -- 'read' may call GET routes only; 'write' may spend.
  scopes        text[] NOT NULL DEFAULT ARRAY['read', 'write']::text[],
  -- Per-key caps within the tenant's; the budget shares the tenant's budget_period.
  budget_micros bigint CHECK (budget_micros >= 0),
  rpm           integer CHECK (rpm >= 0),
  tpm           bigint CHECK (tpm >= 0),
  parallel      integer CHECK (parallel >= 0),
  expires_at    timestamptz,
  revoked_at    timestamptz,
  created_at    timestamptz NOT NULL DEFAULT now(),
  last_used_at  timestamptz,
  created_by    uuid REFERENCES users (id) ON DELETE SET NULL
);
CREATE INDEX api_keys_tenant_idx ON api_keys (tenant_id);
CREATE INDEX api_keys_user_idx ON api_keys (user_id) WHERE user_id IS NOT NULL;

-- Bring-your-own provider credentials, owned by exactly one tenant or one user. A request is sent with the
-- user's key when there is one, else the tenant's, else the provider's own.
CREATE TABLE provider_keys (
  id             uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  provider_id    uuid NOT NULL REFERENCES providers (id) ON DELETE CASCADE,
  tenant_id      uuid REFERENCES tenants (id) ON DELETE CASCADE,
  user_id        uuid REFERENCES users (id) ON DELETE CASCADE,
  -- AES-256-GCM ciphertext under the master key.
  credentials    bytea NOT NULL,
  -- The only part of the secret ever shown again, e.g. '...a1b2'.
  masked_suffix  text NOT NULL,
  created_by     uuid REFERENCES users (id) ON DELETE SET NULL,
  created_at     timestamptz NOT NULL DEFAULT now(),
  updated_at     timestamptz NOT NULL DEFAULT now(),
  CHECK (num_nonnulls(tenant_id, user_id) = 1)
);
CREATE UNIQUE INDEX provider_keys_tenant_key ON provider_keys (provider_id, tenant_id) WHERE tenant_id IS NOT NULL;
CREATE UNIQUE INDEX provider_keys_user_key ON provider_keys (provider_id, user_id) WHERE user_id IS NOT NULL;

-- The alias the simplified endpoints (/api/llm/..., /api/embedding/, /api/image/...) use without a model.
CREATE TABLE category_defaults (
  category    text PRIMARY KEY CHECK (category IN ('text_gen', 'text2text', 'embedding', 'image')),
  -- Deleting the model drops the default: the endpoint then asks for a model instead of failing upstream.
  model_id    uuid NOT NULL REFERENCES models (id) ON DELETE CASCADE,
  updated_at  timestamptz NOT NULL DEFAULT now()
);

-- One row per request the gateway settled. An append-only ledger: no foreign keys, so that usage replayed
-- from the spool after a key, user or tenant was deleted is still kept, and write-behind inserts stay cheap.
-- Names (alias, provider) are copied rather than referenced: they describe the request as it was served.
CREATE TABLE usage_records (
  -- Made by the gateway before the first write attempt: a replayed batch inserts ON CONFLICT DO NOTHING.
  id                 uuid PRIMARY KEY,
  request_id         text NOT NULL,
  tenant_id          uuid NOT NULL,
  api_key_id         uuid,
  user_id            uuid,
  model_alias        text NOT NULL,
  provider           text,
  upstream_model     text,
  prompt_tokens      bigint NOT NULL DEFAULT 0 CHECK (prompt_tokens >= 0),
  completion_tokens  bigint NOT NULL DEFAULT 0 CHECK (completion_tokens >= 0),
  -- Part of prompt_tokens that the provider served from its cache.
  cached_tokens      bigint NOT NULL DEFAULT 0 CHECK (cached_tokens >= 0),
  cost_micros        bigint NOT NULL DEFAULT 0 CHECK (cost_micros >= 0),
  status             text NOT NULL CHECK (status IN ('completed', 'failed', 'cancelled')),
  -- The HTTP status the client was answered with (200 for a stream that later failed).
  http_status        smallint,
  stream             boolean NOT NULL DEFAULT false,
  latency_ms         integer CHECK (latency_ms >= 0),
  ttft_ms            integer CHECK (ttft_ms >= 0),
  -- true when the provider reported no usage and the gateway counted the tokens itself.
  estimated          boolean NOT NULL DEFAULT false,
  session_id         text,
  -- When the request ended, set by the gateway: a row replayed later keeps its real time.
  created_at         timestamptz NOT NULL DEFAULT now()
);
-- Dashboards, usage-compare and budget rebuilds: one tenant (or key) over a time range.
CREATE INDEX usage_records_tenant_time_idx ON usage_records (tenant_id, created_at);
CREATE INDEX usage_records_key_time_idx ON usage_records (api_key_id, created_at) WHERE api_key_id IS NOT NULL;
CREATE INDEX usage_records_time_idx ON usage_records (created_at);
CREATE INDEX usage_records_request_idx ON usage_records (request_id);
CREATE INDEX usage_records_session_idx ON usage_records (session_id) WHERE session_id IS NOT NULL;

-- Who changed what. No foreign keys: the trail must outlive the users, keys and tenants it mentions.
CREATE TABLE audit_log (
  id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  actor_user_id     uuid,
  actor_api_key_id  uuid,
  tenant_id         uuid,
  action            text NOT NULL CHECK (action <> ''),
  target_type       text,
  target_id         text,
  -- Secrets are never written here: callers pass redacted objects.
  before            jsonb,
  after             jsonb,
  request_id        text,
  created_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX audit_log_tenant_time_idx ON audit_log (tenant_id, created_at) WHERE tenant_id IS NOT NULL;
CREATE INDEX audit_log_time_idx ON audit_log (created_at);
