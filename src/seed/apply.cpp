#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include "checks.hpp"
#include "switchyard/core/crypto.hpp"
#include "switchyard/seed/seed.hpp"

namespace switchyard::seed {
namespace {

// The statements of a seed run. An update takes the row's key as $1 and the declared values after it;
// its IS DISTINCT FROM guard leaves a row that is already as declared untouched, updated_at included.
namespace sql {

constexpr const char* kFindProvider = "SELECT id, credentials FROM providers WHERE name = $1 FOR UPDATE";
constexpr const char* kInsertProvider = R"(
  INSERT INTO providers (name, type, base_url, credentials, settings, enabled)
  VALUES ($1, $2, $3, $4::bytea, $5::jsonb, $6::boolean)
  RETURNING id)";
constexpr const char* kUpdateProvider = R"(
  UPDATE providers
  SET (name, type, base_url, credentials, settings, enabled, updated_at) =
      ROW($2::text, $3::text, $4::text, $5::bytea, $6::jsonb, $7::boolean, now())
  WHERE id = $1
    AND (name, type, base_url, credentials, settings, enabled) IS DISTINCT FROM
        ($2::text, $3::text, $4::text, $5::bytea, $6::jsonb, $7::boolean))";

constexpr const char* kProviderId = "SELECT id FROM providers WHERE name = $1";
constexpr const char* kInsertModel = R"(
  INSERT INTO models (alias, provider_id, upstream_model, capabilities, enabled,
                      input_micros_per_mtok, output_micros_per_mtok, cached_input_micros_per_mtok)
  VALUES ($1, $2::uuid, $3, $4::text[], $5::boolean, $6::bigint, $7::bigint, $8::bigint)
  ON CONFLICT (alias) DO NOTHING)";
constexpr const char* kUpdateModel = R"(
  UPDATE models
  SET (provider_id, upstream_model, capabilities, enabled,
       input_micros_per_mtok, output_micros_per_mtok, cached_input_micros_per_mtok, updated_at) =
      ROW($2::uuid, $3::text, $4::text[], $5::boolean, $6::bigint, $7::bigint, $8::bigint, now())
  WHERE alias = $1
    AND (provider_id, upstream_model, capabilities, enabled,
         input_micros_per_mtok, output_micros_per_mtok, cached_input_micros_per_mtok) IS DISTINCT FROM
        ($2::uuid, $3::text, $4::text[], $5::boolean, $6::bigint, $7::bigint, $8::bigint))";

constexpr const char* kFindTenant = "SELECT id, kind FROM tenants WHERE name = $1 FOR UPDATE";
constexpr const char* kInsertTenant = R"(
  INSERT INTO tenants (kind, name, budget_micros, budget_period, rpm, tpm, parallel, all_models)
  VALUES ('shared', $1, $2::bigint, $3, $4::integer, $5::bigint, $6::integer, $7::boolean)
  RETURNING id)";
constexpr const char* kUpdateTenant = R"(
  UPDATE tenants
  SET (name, budget_micros, budget_period, rpm, tpm, parallel, all_models, updated_at) =
      ROW($2::text, $3::bigint, $4::text, $5::integer, $6::bigint, $7::integer, $8::boolean, now())
  WHERE id = $1
    AND (name, budget_micros, budget_period, rpm, tpm, parallel, all_models) IS DISTINCT FROM
        ($2::text, $3::bigint, $4::text, $5::integer, $6::bigint, $7::integer, $8::boolean))";
constexpr const char* kModelId = "SELECT id FROM models WHERE alias = $1";
constexpr const char* kGrantModels = R"(
  INSERT INTO tenant_models (tenant_id, model_id) SELECT $1::uuid, unnest($2::uuid[])
  ON CONFLICT DO NOTHING)";
constexpr const char* kRevokeOtherModels =
    "DELETE FROM tenant_models WHERE tenant_id = $1 AND model_id <> ALL ($2::uuid[])";
constexpr const char* kTouchTenant = "UPDATE tenants SET updated_at = now() WHERE id = $1";

constexpr const char* kFindUser = R"(
  SELECT id, password_hash, personal_tenant_id FROM users WHERE lower(email) = lower($1) FOR UPDATE)";
constexpr const char* kInsertUser = R"(
  INSERT INTO users (email, display_name, password_hash, is_admin)
  VALUES ($1, COALESCE($2, ''), $3, $4::boolean)
  RETURNING id)";
// A display name the file leaves out keeps the stored one.
constexpr const char* kUpdateUser = R"(
  UPDATE users
  SET (email, display_name, password_hash, is_admin, updated_at) =
      ROW($2::text, COALESCE($3::text, display_name), $4::text, $5::boolean, now())
  WHERE id = $1
    AND (email, display_name, password_hash, is_admin) IS DISTINCT FROM
        ($2::text, COALESCE($3::text, display_name), $4::text, $5::boolean))";
constexpr const char* kInsertPersonalTenant =
    "INSERT INTO tenants (kind, name) VALUES ('personal', $1) RETURNING id";
constexpr const char* kSetPersonalTenant =
    "UPDATE users SET personal_tenant_id = $2, updated_at = now() WHERE id = $1";
constexpr const char* kTenantId = "SELECT id FROM tenants WHERE name = $1";
constexpr const char* kInsertMembership = R"(
  INSERT INTO memberships (tenant_id, user_id, role) VALUES ($1, $2, $3)
  ON CONFLICT (tenant_id, user_id) DO NOTHING)";
constexpr const char* kUpdateMembership = R"(
  UPDATE memberships SET role = $3
  WHERE tenant_id = $1 AND user_id = $2 AND role IS DISTINCT FROM $3::text)";

constexpr const char* kTenantLimits =
    "SELECT id, budget_micros, rpm, tpm, parallel FROM tenants WHERE name = $1";
constexpr const char* kMember = R"(
  SELECT id, EXISTS (SELECT 1 FROM memberships m WHERE m.user_id = u.id AND m.tenant_id = $2)
  FROM users u WHERE lower(email) = lower($1))";
constexpr const char* kFindApiKey = "SELECT id FROM api_keys WHERE tenant_id = $1 AND name = $2 FOR UPDATE";
constexpr const char* kApiKeyByHash = "SELECT id FROM api_keys WHERE key_hash = $1::bytea";
constexpr const char* kInsertApiKey = R"(
  INSERT INTO api_keys (tenant_id, user_id, name, key_hash, prefix, budget_micros, rpm, tpm, parallel)
  VALUES ($1, $2::uuid, $3, $4::bytea, $5, $6::bigint, $7::integer, $8::bigint, $9::integer)
  RETURNING id)";
constexpr const char* kUpdateApiKey = R"(
  UPDATE api_keys
  SET (tenant_id, user_id, name, key_hash, prefix, budget_micros, rpm, tpm, parallel) =
      ROW($2::uuid, $3::uuid, $4::text, $5::bytea, $6::text,
          $7::bigint, $8::integer, $9::bigint, $10::integer)
  WHERE id = $1
    AND (tenant_id, user_id, name, key_hash, prefix, budget_micros, rpm, tpm, parallel) IS DISTINCT FROM
        ($2::uuid, $3::uuid, $4::text, $5::bytea, $6::text,
         $7::bigint, $8::integer, $9::bigint, $10::integer))";

constexpr const char* kModelWithCapability =
    "SELECT id, $2::text = ANY (capabilities) FROM models WHERE alias = $1";
constexpr const char* kInsertCategory = R"(
  INSERT INTO category_defaults (category, model_id) VALUES ($1, $2)
  ON CONFLICT (category) DO NOTHING)";
constexpr const char* kUpdateCategory = R"(
  UPDATE category_defaults SET model_id = $2, updated_at = now()
  WHERE category = $1 AND model_id IS DISTINCT FROM $2::uuid)";

}  // namespace sql

/// A statement parameter in Postgres' text format; nullopt is SQL NULL.
using Param = std::optional<std::string>;

template <typename Int>
Param number(std::optional<Int> value) {
  return value ? Param(std::to_string(*value)) : std::nullopt;
}

Param flag(bool value) { return value ? "true" : "false"; }

Param bytea(const std::optional<std::string>& raw) {
  return raw ? Param("\\x" + crypto::hex(*raw)) : std::nullopt;
}

/// `{a,b}`: a text[] or uuid[] literal of values that need no quoting (vocabulary words, uuids).
std::string array_literal(const std::vector<std::string>& values) {
  std::string out = "{";
  for (const auto& value : values) out += (out.size() > 1 ? "," : "") + value;
  return out + "}";
}

pqxx::result run(pqxx::work& tx, const char* statement, const std::vector<Param>& params) {
  std::vector<const char*> values;
  values.reserve(params.size());
  for (const auto& param : params) values.push_back(param ? param->c_str() : nullptr);
  return tx.exec_params(statement, pqxx::prepare::make_dynamic_params(values));
}

template <typename T = std::string>
std::optional<T> nullable(const pqxx::field& field) {
  return field.is_null() ? std::nullopt : std::optional(field.as<T>());
}

enum class Outcome { inserted, updated, unchanged };

void tally(KindCounts& counts, Outcome outcome) {
  switch (outcome) {
    case Outcome::inserted:
      ++counts.inserted;
      break;
    case Outcome::updated:
      ++counts.updated;
      break;
    case Outcome::unchanged:
      ++counts.unchanged;
      break;
  }
}

/// Runs `insert` when there is no row yet (`id` empty; it returns the new id, kept in `id`), else the
/// guarded `update` with the id before `values`.
Outcome upsert(pqxx::work& tx, std::optional<std::string>& id, const char* insert, const char* update,
               std::vector<Param> values) {
  if (!id) {
    id = run(tx, insert, values)[0][0].as<std::string>();
    return Outcome::inserted;
  }
  values.insert(values.begin(), *id);
  return run(tx, update, values).affected_rows() > 0 ? Outcome::updated : Outcome::unchanged;
}

/// For rows whose key is a unique constraint: `insert` does nothing on conflict, then the guarded
/// `update`, with the same parameters, changes what differs.
Outcome insert_or_update(pqxx::work& tx, const char* insert, const char* update,
                         const std::vector<Param>& values) {
  if (run(tx, insert, values).affected_rows() > 0) return Outcome::inserted;
  return run(tx, update, values).affected_rows() > 0 ? Outcome::updated : Outcome::unchanged;
}

[[noreturn]] void refuse(const std::string& entry, const std::string& problem) {
  throw SeedError(entry + ": " + problem);
}

/// The capability a category's default model must have.
std::string capability_of(const std::string& category) {
  if (category == "embedding") return "embeddings";
  if (category == "image") return "images";
  return "chat";
}

/// One seed run inside one transaction. Kinds go in dependency order, so a reference to an entry of the
/// file finds it already written, and every reference resolves against the database alone.
class Seeder {
 public:
  Seeder(pqxx::work& tx, const crypto::MasterKey& master_key) : tx_(tx), master_key_(master_key) {}

  SeedResult run_plan(const SeedPlan& plan) {
    for (const auto& p : plan.providers) provider(p);
    for (const auto& m : plan.models) model(m);
    for (const auto& t : plan.tenants) tenant(t);
    for (const auto& u : plan.users) user(u);
    for (const auto& k : plan.api_keys) api_key(k);
    for (const auto& c : plan.categories) category(c);
    return result_;
  }

 private:
  void provider(const ProviderSpec& p) {
    auto row = run(tx_, sql::kFindProvider, {p.name});
    std::optional<std::string> id;
    std::optional<std::string> credentials;
    if (!row.empty()) {
      id = row[0][0].as<std::string>();
      if (!row[0][1].is_null()) credentials = pqxx::binarystring(row[0][1]).str();
    }
    // A fresh nonce makes every encryption new bytes, so encrypt only what actually changed.
    std::string context = "provider:" + p.name;
    if (p.credentials_json && !same_credentials(credentials, *p.credentials_json, context)) {
      credentials = master_key_.encrypt(*p.credentials_json, context);
    }
    tally(result_.providers,
          upsert(tx_, id, sql::kInsertProvider, sql::kUpdateProvider,
                 {p.name, p.type, p.base_url, bytea(credentials), p.settings_json, flag(p.enabled)}));
  }

  /// Whether `stored` decrypts to the same JSON as `declared`. A ciphertext that no longer decrypts (the
  /// master key changed) counts as different, so the run replaces it.
  bool same_credentials(const std::optional<std::string>& stored, const std::string& declared,
                        const std::string& context) const {
    if (!stored) return false;
    auto plain = master_key_.decrypt(*stored, context);
    if (!plain) return false;
    auto current = nlohmann::json::parse(*plain, nullptr, false);
    return !current.is_discarded() && current == nlohmann::json::parse(declared);
  }

  void model(const ModelSpec& m) {
    auto provider = run(tx_, sql::kProviderId, {m.provider});
    if (provider.empty()) refuse(m.entry, "unknown provider " + quote(m.provider));
    tally(result_.models,
          insert_or_update(
              tx_, sql::kInsertModel, sql::kUpdateModel,
              {m.alias, provider[0][0].as<std::string>(), m.upstream_model, array_literal(m.capabilities),
               flag(m.enabled), number<Micros>(m.input_micros_per_mtok),
               number<Micros>(m.output_micros_per_mtok), number(m.cached_input_micros_per_mtok)}));
  }

  void tenant(const TenantSpec& t) {
    auto row = run(tx_, sql::kFindTenant, {t.name});
    if (!row.empty() && row[0][1].as<std::string>() == "personal") {
      refuse(t.entry, "is a user's personal tenant");
    }
    std::optional<std::string> id = row.empty() ? std::nullopt : nullable(row[0][0]);
    auto outcome = upsert(tx_, id, sql::kInsertTenant, sql::kUpdateTenant,
                          {t.name, number(t.limits.budget_micros), t.budget_period, number(t.limits.rpm),
                           number(t.limits.tpm), number(t.limits.parallel), flag(!t.models)});

    // The grants are exactly the listed models; a tenant without a list uses every model and keeps none.
    std::vector<std::string> model_ids;
    for (const auto& alias : t.models.value_or(std::vector<std::string>{})) {
      auto model = run(tx_, sql::kModelId, {alias});
      if (model.empty()) refuse(t.entry, "unknown model " + quote(alias));
      model_ids.push_back(model[0][0].as<std::string>());
    }
    auto granted = run(tx_, sql::kGrantModels, {id, array_literal(model_ids)}).affected_rows();
    auto revoked = run(tx_, sql::kRevokeOtherModels, {id, array_literal(model_ids)}).affected_rows();
    if (outcome == Outcome::unchanged && granted + revoked > 0) {
      run(tx_, sql::kTouchTenant, {id});
      outcome = Outcome::updated;
    }
    tally(result_.tenants, outcome);
  }

  void user(const UserSpec& u) {
    auto row = run(tx_, sql::kFindUser, {u.email});
    std::optional<std::string> id;
    std::optional<std::string> password_hash;
    std::optional<std::string> personal_tenant;
    if (!row.empty()) {
      id = row[0][0].as<std::string>();
      password_hash = nullable(row[0][1]);
      personal_tenant = nullable(row[0][2]);
    }
    // Argon2id salts every hash, so hash again only when the stored one does not match.
    if (u.password && !(password_hash && crypto::verify_password(*u.password, *password_hash))) {
      password_hash = crypto::hash_password(*u.password);
    }
    auto outcome = upsert(tx_, id, sql::kInsertUser, sql::kUpdateUser,
                          {u.email, u.display_name, password_hash, flag(u.admin)});

    if (!personal_tenant) {
      personal_tenant = run(tx_, sql::kInsertPersonalTenant, {std::string(kPersonalTenantPrefix) + *id})[0][0]
                            .as<std::string>();
      run(tx_, sql::kSetPersonalTenant, {id, personal_tenant});
      ++result_.tenants.inserted;
      if (outcome == Outcome::unchanged) outcome = Outcome::updated;
    }
    tally(result_.users, outcome);
    membership(*personal_tenant, *id, "owner");
    for (const auto& m : u.memberships) {
      auto tenant = run(tx_, sql::kTenantId, {m.tenant});
      if (tenant.empty()) refuse(u.entry, "unknown tenant " + quote(m.tenant));
      membership(tenant[0][0].as<std::string>(), *id, m.role);
    }
  }

  void membership(const std::string& tenant_id, const std::string& user_id, const std::string& role) {
    tally(result_.memberships,
          insert_or_update(tx_, sql::kInsertMembership, sql::kUpdateMembership, {tenant_id, user_id, role}));
  }

  void api_key(const ApiKeySpec& k) {
    auto tenant = run(tx_, sql::kTenantLimits, {k.tenant});
    if (tenant.empty()) refuse(k.entry, "unknown tenant " + quote(k.tenant));
    const auto& t = tenant[0];
    auto tenant_id = t[0].as<std::string>();
    Limits tenant_limits{nullable<Micros>(t[1]), nullable<std::int32_t>(t[2]), nullable<std::int64_t>(t[3]),
                         nullable<std::int32_t>(t[4])};
    if (auto problem = cap_above_tenant(k.limits, tenant_limits, k.tenant)) refuse(k.entry, *problem);

    std::optional<std::string> user_id;
    if (k.user) {
      auto user = run(tx_, sql::kMember, {*k.user, tenant_id});
      if (user.empty()) refuse(k.entry, "unknown user " + quote(*k.user));
      if (!user[0][1].as<bool>()) {
        refuse(k.entry, "user " + quote(*k.user) + " is not a member of tenant " + quote(k.tenant));
      }
      user_id = user[0][0].as<std::string>();
    }

    // The schema does not make names unique within a tenant, so more than one match cannot be told apart.
    auto existing = run(tx_, sql::kFindApiKey, {tenant_id, k.name});
    if (existing.size() > 1) {
      refuse(k.entry, "tenant " + quote(k.tenant) + " has " + std::to_string(existing.size()) +
                          " keys of this name; rename them first");
    }
    std::optional<std::string> id = existing.empty() ? std::nullopt : nullable(existing[0][0]);
    std::string hash = master_key_.api_key_hash(k.secret);
    auto holder = run(tx_, sql::kApiKeyByHash, {bytea(hash)});
    if (!holder.empty() && holder[0][0].as<std::string>() != id) {
      refuse(k.entry, "its secret is already another key's");
    }
    tally(result_.api_keys, upsert(tx_, id, sql::kInsertApiKey, sql::kUpdateApiKey,
                                   {tenant_id, user_id, k.name, bytea(hash), crypto::api_key_prefix(k.secret),
                                    number(k.limits.budget_micros), number(k.limits.rpm),
                                    number(k.limits.tpm), number(k.limits.parallel)}));
  }

  void category(const CategorySpec& c) {
    std::string capability = capability_of(c.category);
    auto model = run(tx_, sql::kModelWithCapability, {c.alias, capability});
    if (model.empty()) refuse(c.entry, "unknown model " + quote(c.alias));
    if (!model[0][1].as<bool>()) {
      refuse(c.entry, "model " + quote(c.alias) + " lacks the capability " + capability);
    }
    tally(result_.categories, insert_or_update(tx_, sql::kInsertCategory, sql::kUpdateCategory,
                                               {c.category, model[0][0].as<std::string>()}));
  }

  pqxx::work& tx_;
  const crypto::MasterKey& master_key_;
  SeedResult result_;
};

std::string line(const char* kind, const KindCounts& counts) {
  return std::string(kind) + ": " + std::to_string(counts.inserted) + " inserted, " +
         std::to_string(counts.updated) + " updated, " + std::to_string(counts.unchanged) + " unchanged\n";
}

}  // namespace

std::string to_string(const SeedResult& r) {
  return line("providers", r.providers) + line("models", r.models) + line("tenants", r.tenants) +
         line("users", r.users) + line("memberships", r.memberships) + line("api_keys", r.api_keys) +
         line("categories", r.categories);
}

SeedResult apply_seed(pqxx::connection_base& db, const SeedPlan& plan, const crypto::MasterKey& master_key) {
  pqxx::work tx{db, "seed"};
  auto result = Seeder(tx, master_key).run_plan(plan);
  tx.commit();
  return result;
}

}  // namespace switchyard::seed
