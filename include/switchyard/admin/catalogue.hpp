#pragma once

#include <array>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "switchyard/core/tenancy.hpp"
#include "switchyard/http/message.hpp"

/// The admin API's request bodies and queries, read and validated. Pure: every refusal is a 400
/// ApiError whose `param` names the field.
namespace switchyard::admin {

/// The provider types of CONTRACT §3 (the schema's CHECK holds the same list).
inline constexpr std::array<std::string_view, 9> kProviderTypes = {
    "openai", "openai_compatible", "azure", "anthropic",     "gemini",
    "vertex", "bedrock",           "mock",  "token_exchange"};
/// The model capabilities of CONTRACT §3.
inline constexpr std::array<std::string_view, 8> kCapabilities = {
    "chat",        "completions",         "embeddings",   "images",
    "image_edits", "audio_transcription", "audio_speech", "responses"};

/// Whether a body creates a row (required fields must be there) or patches one (every field optional).
enum class Mode { create, update };

/// `body` as a JSON object; 400 when it is not JSON or not an object.
nlohmann::json parse_object(std::string_view body);

/// The fields of a provider body. Absent fields are nullopt.
struct ProviderInput {
  std::optional<std::string> name;
  std::optional<std::string> type;
  std::optional<std::string> base_url;
  /// On create the settings; on update a JSON merge patch (RFC 7386) of the stored ones.
  std::optional<nlohmann::json> settings;
  std::optional<bool> enabled;
  /// `credentials: null`: drop the stored secret fields before applying `credentials_patch`.
  bool clear_credentials = false;
  /// A merge patch of the secret fields (`credentials` and a top-level `api_key`); a null removes one.
  nlohmann::json credentials_patch = nlohmann::json::object();

  bool changes_credentials() const { return clear_credentials || !credentials_patch.empty(); }
};

ProviderInput parse_provider_input(const nlohmann::json& body, Mode mode);

/// Refuses a provider's settings with a badly typed well-known setting (timeout_s, verify_tls,
/// api_version, region) or a secret field, which belongs in the encrypted credentials.
void check_provider_settings(std::string_view type, const nlohmann::json& settings);

/// The AES-GCM context binding a provider's credentials ciphertext to its name (as the seed and the
/// catalogue use it): renaming a provider re-encrypts them.
std::string credentials_context(std::string_view provider_name);

/// What may be shown of decrypted credentials: `api_key` (else the first text field) masked as provider keys
/// are (auth::masked_secret); nullopt when there is no text field.
std::optional<std::string> credentials_hint(const nlohmann::json& credentials);

/// The fields of a model body. Absent fields are nullopt. Prices arrive as `*_usd_per_mtok` (a number of
/// USD) or `*_micros_per_mtok` (an integer), and are held as integer micro-dollars per million tokens.
struct ModelInput {
  std::optional<std::string> alias;
  std::optional<std::string> provider;  ///< the provider's name
  std::optional<std::string> upstream_model;
  std::optional<std::vector<std::string>> capabilities;
  std::optional<bool> enabled;
  std::optional<Micros> input_micros_per_mtok;
  std::optional<Micros> output_micros_per_mtok;
  /// Outer nullopt: not given; inner nullopt: null, cached input costs as much as other input.
  std::optional<std::optional<Micros>> cached_input_micros_per_mtok;
  std::optional<nlohmann::json> settings;  ///< on update, a merge patch as for providers
};

ModelInput parse_model_input(const nlohmann::json& body, Mode mode);

/// Refuses model settings that hold a secret field.
void check_model_settings(const nlohmann::json& settings);

/// `PUT /admin/tenants/{id}/models`: whether the tenant may use every enabled model, and the aliases
/// granted when it may not (distinct, kept in the given order).
struct Grants {
  bool all_models = true;
  std::vector<std::string> models;
};

Grants parse_grants(const nlohmann::json& body);

/// `GET /admin/audit` and `GET /user/tenants/{id}/audit`: newest first, `before` an entry id.
struct AuditQuery {
  int limit = 20;  ///< 1..100
  std::optional<std::int64_t> before;
  std::optional<std::string> tenant_id;
  std::optional<std::string> action;
  std::optional<std::string> actor_user_id;
};

AuditQuery parse_audit_query(const http::Request& request);

}  // namespace switchyard::admin
