#pragma once

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "switchyard/core/tenancy.hpp"

namespace YAML {  // NOLINT(readability-identifier-naming): yaml-cpp's own name
class Node;
}
namespace pqxx {
class connection_base;
}
namespace switchyard::crypto {
class MasterKey;
}

/// `switchyard seed FILE`: the providers, models, tenants, users and API keys a YAML file declares
/// (CONTRACT §3), first parsed into a plan, then upserted by name in one transaction.
namespace switchyard::seed {

/// A refused seed file. The message names the entry and what is wrong with it, e.g.
/// `models[2] (alias "gpt-x"): unknown provider "nope"`.
class SeedError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// A provider. Fields beyond name, type, base_url and enabled are sorted by name: the type's credential
/// fields (see is_credential_field) go, encrypted, into `credentials`; the rest into `settings`.
struct ProviderSpec {
  std::string entry;  ///< how messages name it: `providers[0] (name "openai")`
  std::string name;
  std::string type;
  std::string base_url;
  bool enabled = true;
  std::string settings_json = "{}";  ///< a JSON object; plain YAML scalars typed, quoted ones strings
  /// A JSON object whose scalars are all strings; nullopt when the file gives none, which keeps the
  /// credentials already stored.
  std::optional<std::string> credentials_json;
};

struct ModelSpec {
  std::string entry;
  std::string alias;
  std::string provider;
  std::string upstream_model;             ///< defaults to the alias
  std::vector<std::string> capabilities;  ///< defaults to chat
  bool enabled = true;
  Micros input_micros_per_mtok = 0;  ///< micro-dollars per million tokens
  Micros output_micros_per_mtok = 0;
  std::optional<Micros> cached_input_micros_per_mtok;  ///< nullopt: as input_micros_per_mtok
};

struct TenantSpec {
  std::string entry;
  std::string name;
  Limits limits;
  std::string budget_period = "monthly";  ///< daily | weekly | monthly | total
  /// Aliases granted; nullopt grants every enabled model.
  std::optional<std::vector<std::string>> models;
};

struct MembershipSpec {
  std::string tenant;
  std::string role;  ///< owner | admin | user | viewer
};

struct UserSpec {
  std::string entry;
  std::string email;
  std::optional<std::string> password;      ///< nullopt keeps the stored hash (none for a new user)
  std::optional<std::string> display_name;  ///< nullopt keeps the stored name
  bool admin = false;
  std::vector<MembershipSpec> memberships;  ///< added or updated; memberships not listed are kept
};

struct ApiKeySpec {
  std::string entry;
  std::string name;  ///< unique within its tenant
  std::string tenant;
  std::optional<std::string> user;  ///< owner's email
  std::string secret;
  Limits limits;
};

/// A default alias of a simplified endpoint's category (CONTRACT §7).
struct CategorySpec {
  std::string entry;     ///< `categories.text_gen`
  std::string category;  ///< text_gen | text2text | embedding | image
  std::string alias;
};

/// A parsed seed file. Every reference it holds is still to be resolved against the file and the database.
struct SeedPlan {
  std::vector<ProviderSpec> providers;
  std::vector<ModelSpec> models;
  std::vector<TenantSpec> tenants;
  std::vector<UserSpec> users;
  std::vector<ApiKeySpec> api_keys;
  std::vector<CategorySpec> categories;
};

/// Validates the shape, types and ranges of a seed document, refuses unknown keys and duplicate names,
/// and checks that each key's caps stay within those of a tenant the file declares. Money is read from
/// the decimal text, never through a double. Pure; throws SeedError.
SeedPlan parse_seed(const YAML::Node& document);

/// parse_seed on a file; unreadable files and YAML syntax errors are SeedErrors too.
SeedPlan parse_seed_file(const std::string& path);

/// Whether a provider field of `type` is a secret, kept only in the encrypted credentials: the type's
/// own secret fields (bedrock's access_key_id, vertex's service_account, ...) and every field with
/// `key`, `secret`, `token`, `password`, `code` or `credentials` among its `_`-separated words.
bool is_credential_field(const std::string& type, const std::string& field);

/// How many rows of one kind a seed run inserted, changed and left as they were.
struct KindCounts {
  int inserted = 0;
  int updated = 0;
  int unchanged = 0;
};

/// What apply_seed did. Personal tenants and their owner memberships count as tenants and memberships.
struct SeedResult {
  KindCounts providers;
  KindCounts models;
  KindCounts tenants;
  KindCounts users;
  KindCounts memberships;
  KindCounts api_keys;
  KindCounts categories;
};

/// One line per kind: `providers: 1 inserted, 0 updated, 2 unchanged`.
std::string to_string(const SeedResult& result);

/// Upserts the plan in one transaction, keyed by provider name, model alias, tenant name, user email
/// (case-insensitive), key name within its tenant and category. Rows already as declared are not
/// written, so a second run changes nothing: not updated_at, not a ciphertext, not a password hash.
/// Each user gets a personal tenant (named "personal:<user id>") and its owner membership if it has
/// none. A reference found neither in the plan nor in the database, or any other refusal, throws
/// SeedError naming the entry, and nothing is written. Blocking; database errors pass through as pqxx's.
SeedResult apply_seed(pqxx::connection_base& db, const SeedPlan& plan, const crypto::MasterKey& master_key);

}  // namespace switchyard::seed
