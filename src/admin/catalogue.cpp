#include "switchyard/admin/catalogue.hpp"

#include <algorithm>
#include <charconv>
#include <span>

#include "switchyard/auth/provider_keys.hpp"
#include "switchyard/core/error.hpp"
#include "switchyard/core/ids.hpp"
#include "switchyard/core/money.hpp"
#include "switchyard/seed/seed.hpp"

namespace switchyard::admin {
namespace {

using nlohmann::json;

constexpr std::size_t kMaxName = 128;
constexpr std::size_t kMaxModelName = 256;
constexpr std::size_t kMaxUrl = 2048;
// A billion USD per million tokens is no price anyone means, and keeps every sum far from overflow.
constexpr Micros kMaxMicrosPerMtok = 1'000'000'000'000'000;
constexpr int kMaxAuditPage = 100;

/// Fields answers carry that a client may send back unchanged (a form filled from a GET): ignored.
constexpr std::string_view kReadOnlyFields[] = {
    "id",    "object", "created_at", "updated_at", "has_credentials", "credential_fields", "credentials_hint",
    "models"};

[[noreturn]] void refuse(const std::string& param, const std::string& problem) {
  throw ApiError::invalid_request("Invalid '" + param + "': " + problem, param);
}

bool one_of(std::string_view value, std::span<const std::string_view> words) {
  return std::find(words.begin(), words.end(), value) != words.end();
}

std::string listing(std::span<const std::string_view> words) {
  std::string out;
  for (auto word : words) out += (out.empty() ? "" : ", ") + std::string(word);
  return out;
}

/// Refuses a key that is neither `known` nor read-only.
void reject_unknown(const json& body, std::span<const std::string_view> known) {
  for (const auto& [key, value] : body.items()) {
    if (!one_of(key, known) && !one_of(key, kReadOnlyFields)) {
      throw ApiError::invalid_request("Unknown parameter: '" + key + "'.", key);
    }
  }
}

/// The value of `key`; nullptr when absent, or null where null means absent (on create).
const json* field(const json& body, const char* key, Mode mode) {
  auto found = body.find(key);
  if (found == body.end()) return nullptr;
  if (found->is_null() && mode == Mode::create) return nullptr;
  return &*found;
}

/// Whether `text` is all visible characters: no spaces, no control characters.
bool printable(std::string_view text) {
  return std::all_of(text.begin(), text.end(),
                     [](char c) { return static_cast<unsigned char>(c) > 0x20 && c != 0x7f; });
}

bool has_control(std::string_view text) {
  return std::any_of(text.begin(), text.end(),
                     [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; });
}

std::optional<std::string> text(const json& body, const char* key, Mode mode) {
  const json* value = field(body, key, mode);
  if (!value) return std::nullopt;
  if (!value->is_string()) refuse(key, "expected a string.");
  return value->get<std::string>();
}

/// A name: 1..max visible characters, no slash (names appear in paths).
std::optional<std::string> name(const json& body, const char* key, Mode mode, std::size_t max) {
  auto value = text(body, key, mode);
  if (value && (value->empty() || value->size() > max || !printable(*value) ||
                value->find('/') != std::string::npos)) {
    refuse(key, "expected 1 to " + std::to_string(max) + " visible characters without spaces or '/'.");
  }
  return value;
}

std::optional<bool> flag(const json& body, const char* key, Mode mode) {
  const json* value = field(body, key, mode);
  if (!value) return std::nullopt;
  if (!value->is_boolean()) refuse(key, "expected true or false.");
  return value->get<bool>();
}

std::optional<json> object(const json& body, const char* key, Mode mode) {
  const json* value = field(body, key, mode);
  if (!value) return std::nullopt;
  if (!value->is_object()) refuse(key, "expected an object.");
  return *value;
}

void check_base_url(const std::string& url) {
  if (url.empty()) return;
  bool scheme = url.rfind("http://", 0) == 0 || url.rfind("https://", 0) == 0;
  if (!scheme || url.size() > kMaxUrl || !printable(url)) {
    refuse("base_url", "expected an http:// or https:// URL without spaces.");
  }
  auto authority_start = url.find("://") + 3;
  auto authority = url.substr(authority_start, url.find_first_of("/?#", authority_start) - authority_start);
  if (authority.empty()) refuse("base_url", "the URL names no host.");
  if (authority.find('@') != std::string::npos) {
    refuse("base_url",
           "a URL must not carry credentials: send them in 'credentials', which is stored encrypted.");
  }
}

/// A secret field's value: text (an API key) or an object (a service account); null only to remove it.
void check_secret(const std::string& param, const json& value, Mode mode) {
  if (value.is_null() && mode == Mode::update) return;
  if (value.is_string() && !value.get_ref<const std::string&>().empty()) return;
  if (value.is_object() && !value.empty()) return;
  refuse(param, mode == Mode::update ? "expected a non-empty string or object, or null to remove it."
                                     : "expected a non-empty string or object.");
}

json credentials_patch(const json& body, Mode mode, bool& clear) {
  json patch = json::object();
  auto credentials = body.find("credentials");
  if (credentials != body.end()) {
    if (credentials->is_null()) {
      clear = mode == Mode::update;
    } else if (!credentials->is_object()) {
      refuse("credentials", "expected an object of secret fields, e.g. {\"api_key\": \"...\"}.");
    } else {
      for (const auto& [key, value] : credentials->items()) {
        check_secret("credentials." + key, value, mode);
        if (!value.is_null() || mode == Mode::update) patch[key] = value;
      }
    }
  }
  if (auto api_key = body.find("api_key"); api_key != body.end() && !api_key->is_null()) {
    if (!api_key->is_string() || api_key->get_ref<const std::string&>().empty()) {
      refuse("api_key", "expected a non-empty string.");
    }
    patch["api_key"] = *api_key;
  }
  return patch;
}

/// Refuses a secret among settings, which admins read back in the clear.
void reject_secrets(std::string_view type, const json& settings) {
  for (const auto& [key, value] : settings.items()) {
    if (seed::is_credential_field(std::string(type), key)) {
      refuse("settings." + key, "this is a secret: send it in 'credentials', which is stored encrypted.");
    }
  }
}

std::optional<Micros> usd_amount(const std::string& param, const json& value) {
  auto micros = usd_from_json(value);
  if (!micros || *micros > kMaxMicrosPerMtok) {
    refuse(param, "expected an amount of USD from 0 to 1e9 with at most 6 decimals.");
  }
  return micros;
}

std::optional<Micros> micros_amount(const std::string& param, const json& value) {
  if (!value.is_number_integer() || value.get<std::int64_t>() < 0 ||
      value.get<std::int64_t>() > kMaxMicrosPerMtok) {
    refuse(param, "expected a whole number of micro-dollars from 0 to 1e15.");
  }
  return value.get<std::int64_t>();
}

/// A price given as `<stem>_usd_per_mtok` or `<stem>_micros_per_mtok` (not both). Outer nullopt: neither
/// given; inner nullopt: null, allowed only when `nullable`.
std::optional<std::optional<Micros>> price(const json& body, const std::string& stem, Mode mode,
                                           bool nullable) {
  auto usd_key = stem + "_usd_per_mtok";
  auto micros_key = stem + "_micros_per_mtok";
  auto usd_value = body.find(usd_key);
  auto micros_value = body.find(micros_key);
  if (usd_value != body.end() && micros_value != body.end()) {
    refuse(usd_key, "give either '" + usd_key + "' or '" + micros_key + "', not both.");
  }
  bool is_usd = usd_value != body.end();
  auto found = is_usd ? usd_value : micros_value;
  const auto& key = is_usd ? usd_key : micros_key;
  if (found == body.end() || (found->is_null() && mode == Mode::create)) return std::nullopt;
  if (found->is_null()) {
    if (!nullable) refuse(key, "must not be null.");
    return std::optional<Micros>();
  }
  return is_usd ? usd_amount(key, *found) : micros_amount(key, *found);
}

std::vector<std::string> capabilities(const json& value) {
  if (!value.is_array() || value.empty()) refuse("capabilities", "expected a non-empty list.");
  std::vector<std::string> out;
  for (const auto& item : value) {
    if (!item.is_string() || !one_of(item.get<std::string>(), kCapabilities)) {
      refuse("capabilities", "each must be one of " + listing(kCapabilities) + ".");
    }
    if (std::find(out.begin(), out.end(), item.get<std::string>()) == out.end()) out.push_back(item);
  }
  return out;
}

std::optional<std::int64_t> whole_number(const std::optional<std::string>& text) {
  if (!text || text->empty()) return std::nullopt;
  std::int64_t n = 0;
  auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), n);
  if (ec != std::errc{} || end != text->data() + text->size()) return std::nullopt;
  return n;
}

std::optional<std::string> uuid_param(const http::Request& request, const char* key) {
  auto value = request.query_param(key);
  if (value && !is_uuid(*value)) refuse(key, "expected a UUID.");
  return value;
}

}  // namespace

json parse_object(std::string_view body) {
  auto parsed = json::parse(body, nullptr, false);
  if (parsed.is_discarded()) {
    throw ApiError::invalid_request("We could not parse the JSON body of your request.");
  }
  if (!parsed.is_object()) throw ApiError::invalid_request("The request body must be a JSON object.");
  return parsed;
}

ProviderInput parse_provider_input(const json& body, Mode mode) {
  static constexpr std::string_view kKnown[] = {"name",    "type",        "base_url", "settings",
                                                "enabled", "credentials", "api_key"};
  reject_unknown(body, kKnown);
  ProviderInput in;
  in.name = name(body, "name", mode, kMaxName);
  in.type = text(body, "type", mode);
  if (in.type && !one_of(*in.type, kProviderTypes))
    refuse("type", "expected one of " + listing(kProviderTypes) + ".");
  if (mode == Mode::create && !in.name)
    throw ApiError::invalid_request("Missing required parameter: 'name'.", "name");
  if (mode == Mode::create && !in.type)
    throw ApiError::invalid_request("Missing required parameter: 'type'.", "type");
  if (body.contains("base_url") && body["base_url"].is_null()) {
    in.base_url = "";
  } else {
    in.base_url = text(body, "base_url", mode);
  }
  if (in.base_url) check_base_url(*in.base_url);
  in.settings = object(body, "settings", mode);
  // On update the settings' type may come from the stored row: the handler checks them once merged.
  if (in.settings && mode == Mode::create) check_provider_settings(*in.type, *in.settings);
  in.enabled = flag(body, "enabled", mode);
  in.credentials_patch = credentials_patch(body, mode, in.clear_credentials);
  return in;
}

void check_provider_settings(std::string_view type, const json& settings) {
  if (!settings.is_object()) refuse("settings", "expected an object.");
  reject_secrets(type, settings);
  if (auto timeout = settings.find("timeout_s"); timeout != settings.end()) {
    if (!timeout->is_number() || timeout->get<double>() <= 0 || timeout->get<double>() > 86400) {
      refuse("settings.timeout_s", "expected a number of seconds above 0, at most 86400.");
    }
  }
  if (auto verify = settings.find("verify_tls"); verify != settings.end() && !verify->is_boolean()) {
    refuse("settings.verify_tls", "expected true or false.");
  }
  for (const char* key : {"api_version", "region"}) {
    auto found = settings.find(key);
    if (found != settings.end() && (!found->is_string() || found->get_ref<const std::string&>().empty())) {
      refuse(std::string("settings.") + key, "expected a non-empty string.");
    }
  }
}

std::string credentials_context(std::string_view provider_name) {
  return "provider:" + std::string(provider_name);
}

std::optional<std::string> credentials_hint(const json& credentials) {
  if (!credentials.is_object()) return std::nullopt;
  auto api_key = credentials.find("api_key");
  if (api_key != credentials.end() && api_key->is_string())
    return auth::masked_secret(api_key->get<std::string>());
  for (const auto& [key, value] : credentials.items()) {
    if (value.is_string()) return auth::masked_secret(value.get<std::string>());
  }
  return std::nullopt;
}

ModelInput parse_model_input(const json& body, Mode mode) {
  static constexpr std::string_view kKnown[] = {"alias",
                                                "provider",
                                                "upstream_model",
                                                "capabilities",
                                                "enabled",
                                                "settings",
                                                "input_usd_per_mtok",
                                                "input_micros_per_mtok",
                                                "output_usd_per_mtok",
                                                "output_micros_per_mtok",
                                                "cached_input_usd_per_mtok",
                                                "cached_input_micros_per_mtok"};
  reject_unknown(body, kKnown);
  ModelInput in;
  in.alias = name(body, "alias", mode, kMaxModelName);
  in.provider = name(body, "provider", mode, kMaxName);
  if (mode == Mode::create && !in.alias)
    throw ApiError::invalid_request("Missing required parameter: 'alias'.", "alias");
  if (mode == Mode::create && !in.provider) {
    throw ApiError::invalid_request("Missing required parameter: 'provider'.", "provider");
  }
  in.upstream_model = text(body, "upstream_model", mode);
  if (in.upstream_model && (in.upstream_model->empty() || in.upstream_model->size() > kMaxModelName ||
                            has_control(*in.upstream_model))) {
    refuse("upstream_model", "expected 1 to " + std::to_string(kMaxModelName) + " characters.");
  }
  if (const json* value = field(body, "capabilities", mode)) in.capabilities = capabilities(*value);
  in.enabled = flag(body, "enabled", mode);
  if (auto input = price(body, "input", mode, false)) in.input_micros_per_mtok = *input;
  if (auto output = price(body, "output", mode, false)) in.output_micros_per_mtok = *output;
  in.cached_input_micros_per_mtok = price(body, "cached_input", mode, true);
  in.settings = object(body, "settings", mode);
  if (in.settings) check_model_settings(*in.settings);
  return in;
}

void check_model_settings(const json& settings) { reject_secrets("", settings); }

Grants parse_grants(const json& body) {
  static constexpr std::string_view kKnown[] = {"all_models", "models", "tenant_id"};
  reject_unknown(body, kKnown);
  Grants grants;
  auto all_models = flag(body, "all_models", Mode::create);
  if (!all_models) throw ApiError::invalid_request("Missing required parameter: 'all_models'.", "all_models");
  grants.all_models = *all_models;
  if (const json* models = field(body, "models", Mode::create)) {
    if (!models->is_array()) refuse("models", "expected a list of model aliases.");
    for (const auto& alias : *models) {
      if (!alias.is_string() || alias.get_ref<const std::string&>().empty()) {
        refuse("models", "expected a list of model aliases.");
      }
      if (std::find(grants.models.begin(), grants.models.end(), alias.get<std::string>()) ==
          grants.models.end()) {
        grants.models.push_back(alias);
      }
    }
  }
  return grants;
}

AuditQuery parse_audit_query(const http::Request& request) {
  AuditQuery query;
  if (auto limit = request.query_param("limit")) {
    auto n = whole_number(limit);
    if (!n || *n < 1 || *n > kMaxAuditPage) refuse("limit", "expected a whole number from 1 to 100.");
    query.limit = static_cast<int>(*n);
  }
  if (auto before = request.query_param("before")) {
    query.before = whole_number(before);
    if (!query.before || *query.before < 1) refuse("before", "expected the id of an audit entry.");
  }
  query.tenant_id = uuid_param(request, "tenant_id");
  query.actor_user_id = uuid_param(request, "actor_user_id");
  query.action = request.query_param("action");
  if (query.action && (query.action->empty() || query.action->size() > kMaxName)) {
    refuse("action", "expected an action such as provider.update.");
  }
  return query;
}

}  // namespace switchyard::admin
