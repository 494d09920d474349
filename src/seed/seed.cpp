#include "switchyard/seed/seed.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <span>
#include <utility>

#include "checks.hpp"

namespace switchyard::seed {
namespace {

using Vocabulary = std::span<const std::string_view>;

constexpr std::string_view kProviderTypes[] = {
    "openai", "openai_compatible", "azure", "anthropic",     "gemini",
    "vertex", "bedrock",           "mock",  "token_exchange"};
constexpr std::string_view kCapabilities[] = {"chat",         "completions", "embeddings",
                                              "images",       "image_edits", "audio_transcription",
                                              "audio_speech", "responses"};
constexpr std::string_view kRoles[] = {"owner", "admin", "user", "viewer"};
constexpr std::string_view kBudgetPeriods[] = {"daily", "weekly", "monthly", "total"};
constexpr std::string_view kCategories[] = {"text_gen", "text2text", "embedding", "image"};
constexpr std::string_view kSections[] = {"providers", "models",   "tenants",
                                          "users",     "api_keys", "categories"};

/// Words of a provider field name that mark it secret (is_credential_field).
constexpr std::string_view kSecretWords[] = {"key", "secret", "token", "password", "code", "credentials"};

/// Secret fields of a provider type that no secret word names.
struct TypeSecret {
  std::string_view type;
  std::string_view field;
};
constexpr TypeSecret kTypeSecrets[] = {{"vertex", "service_account"}};

// A short secret could be guessed whatever the hashing; 8 still admits hand-written test keys.
constexpr std::size_t kMinSecretLength = 8;

bool one_of(std::string_view value, Vocabulary vocabulary) {
  return std::find(vocabulary.begin(), vocabulary.end(), value) != vocabulary.end();
}

std::string listing(Vocabulary vocabulary) {
  std::string out;
  for (auto word : vocabulary) out += (out.empty() ? "" : ", ") + std::string(word);
  return out;
}

bool all_digits(std::string_view text) {
  return std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
}

/// Whether `text` is all visible characters: no spaces, no control characters.
bool printable(std::string_view text) {
  return std::all_of(text.begin(), text.end(),
                     [](char c) { return static_cast<unsigned char>(c) > 0x20 && c != 0x7f; });
}

std::string lower(std::string_view text) {
  std::string out{text};
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

/// A plain YAML scalar as JSON: booleans, null and numbers in JSON's own spelling typed, anything else
/// text ("0123" stays an id, "1_000" and "inf" stay text).
nlohmann::json typed_scalar(const std::string& text) {
  static const std::regex kInteger{"-?(0|[1-9][0-9]*)"};
  static const std::regex kReal{"-?(0|[1-9][0-9]*)(\\.[0-9]+)?([eE][-+]?[0-9]+)?"};
  if (text == "true" || text == "false") return text == "true";
  if (text == "null" || text == "~") return nullptr;
  const char* end = text.data() + text.size();
  if (std::int64_t integer = 0;
      std::regex_match(text, kInteger) && std::from_chars(text.data(), end, integer).ec == std::errc{}) {
    return integer;
  }
  if (double real = 0;
      std::regex_match(text, kReal) && std::from_chars(text.data(), end, real).ec == std::errc{}) {
    return real;
  }
  return text;
}

/// YAML to JSON. `typed` reads plain scalars as typed_scalar does; otherwise every scalar is text.
nlohmann::json to_json(const YAML::Node& node, bool typed) {
  switch (node.Type()) {
    case YAML::NodeType::Scalar:
      return typed && node.Tag() == "?" ? typed_scalar(node.Scalar()) : nlohmann::json(node.Scalar());
    case YAML::NodeType::Sequence: {
      auto out = nlohmann::json::array();
      for (const auto& item : node) out.push_back(to_json(item, typed));
      return out;
    }
    case YAML::NodeType::Map: {
      auto out = nlohmann::json::object();
      for (const auto& item : node) out[item.first.Scalar()] = to_json(item.second, typed);
      return out;
    }
    default:
      return nullptr;
  }
}

/// One mapping of a seed list, read field by field. Each read takes its key, so that what is left at
/// the end is unknown; every failure names the entry.
class Entry {
 public:
  Entry(const YAML::Node& node, std::string label) : label_(std::move(label)) {
    if (!node.IsMap()) fail("must be a mapping");
    for (const auto& item : node) {
      if (!item.first.IsScalar()) fail("has a key that is not text");
      if (!fields_.emplace(item.first.Scalar(), item.second).second) {
        fail("repeats the key " + quote(item.first.Scalar()));
      }
    }
  }

  const std::string& label() const { return label_; }

  /// The entry's required name field; from now on messages name the entry by it.
  std::string name(const char* key) {
    auto value = required_text(key);
    label_ += " (" + std::string(key) + " " + quote(value) + ")";
    return value;
  }

  std::optional<std::string> text(const char* key) {
    auto node = take(key);
    if (!node) return std::nullopt;
    if (!node->IsScalar()) fail(std::string(key) + " must be text");
    const std::string& value = node->Scalar();
    if (value.find('\0') != std::string::npos) fail(std::string(key) + " must not contain a NUL character");
    return value;
  }

  std::string required_text(const char* key) {
    auto value = text(key);
    if (!value || value->empty()) fail("needs " + std::string(key));
    return *value;
  }

  std::optional<bool> flag(const char* key) {
    auto value = text(key);
    if (value && *value != "true" && *value != "false") fail(std::string(key) + " must be true or false");
    return value ? std::optional(*value == "true") : std::nullopt;
  }

  std::optional<Micros> money(const char* key) {
    auto value = text(key);
    if (!value) return std::nullopt;
    auto micros = parse_usd(*value);
    if (!micros) {
      fail(std::string(key) + " must be a non-negative amount in USD with at most 6 decimals, not " +
           quote(*value));
    }
    return micros;
  }

  template <typename Int>
  std::optional<Int> count(const char* key) {
    auto value = text(key);
    if (!value) return std::nullopt;
    Int n = 0;
    const char* end = value->data() + value->size();
    auto [p, ec] = std::from_chars(value->data(), end, n);
    if (!all_digits(*value) || ec != std::errc{} || p != end) {
      fail(std::string(key) + " must be a whole number from 0 to " +
           std::to_string(std::numeric_limits<Int>::max()) + ", not " + quote(*value));
    }
    return n;
  }

  /// A list of distinct, non-empty texts.
  std::optional<std::vector<std::string>> texts(const char* key) {
    auto node = take(key);
    if (!node) return std::nullopt;
    if (!node->IsSequence()) fail(std::string(key) + " must be a list");
    std::vector<std::string> out;
    for (const auto& item : *node) {
      if (!item.IsScalar() || item.Scalar().empty()) {
        fail(std::string(key) + " must hold only non-empty text");
      }
      if (std::find(out.begin(), out.end(), item.Scalar()) != out.end()) {
        fail(std::string(key) + " repeats " + quote(item.Scalar()));
      }
      out.push_back(item.Scalar());
    }
    return out;
  }

  std::optional<YAML::Node> node(const char* key) { return take(key); }

  /// The fields not read yet, taken; explicit nulls left out.
  std::map<std::string, YAML::Node> rest() {
    std::erase_if(fields_, [](const auto& field) { return field.second.IsNull(); });
    return std::exchange(fields_, {});
  }

  /// Refuses any field not read.
  void done() const {
    if (!fields_.empty()) fail("unknown key " + quote(fields_.begin()->first));
  }

  [[noreturn]] void fail(const std::string& problem) const { throw SeedError(label_ + ": " + problem); }

 private:
  /// The value of `key`, taken; an explicit null is as good as absent.
  std::optional<YAML::Node> take(const char* key) {
    auto it = fields_.find(key);
    if (it == fields_.end()) return std::nullopt;
    YAML::Node value = it->second;
    fields_.erase(it);
    if (value.IsNull()) return std::nullopt;
    return value;
  }

  std::string label_;
  std::map<std::string, YAML::Node> fields_;
};

std::string indexed(std::string_view section, std::size_t i) {
  return std::string(section) + "[" + std::to_string(i) + "]";
}

/// A spec named by the entry's required `key` field, stored in `name`; its `entry` is the label messages
/// name it by, which is complete only once the name is read.
template <typename Spec>
Spec named_spec(Entry& e, const char* key, std::string Spec::*name) {
  Spec spec;
  spec.*name = e.name(key);
  spec.entry = e.label();
  return spec;
}

Limits read_limits(Entry& e) {
  return {e.money("budget_usd"), e.count<std::int32_t>("rpm"), e.count<std::int64_t>("tpm"),
          e.count<std::int32_t>("parallel")};
}

ProviderSpec parse_provider(const YAML::Node& node, std::size_t i) {
  Entry e(node, indexed("providers", i));
  auto p = named_spec(e, "name", &ProviderSpec::name);
  p.type = e.required_text("type");
  if (!one_of(p.type, kProviderTypes)) e.fail("type must be one of " + listing(kProviderTypes));
  p.base_url = e.text("base_url").value_or("");
  if (!p.base_url.empty() && p.base_url.rfind("http://", 0) != 0 && p.base_url.rfind("https://", 0) != 0) {
    e.fail("base_url must start with http:// or https://");
  }
  p.enabled = e.flag("enabled").value_or(true);

  auto settings = nlohmann::json::object();
  if (auto timeout = e.text("timeout_s")) {
    auto micros = parse_usd(*timeout);
    if (!micros || *micros == 0) e.fail("timeout_s must be a positive number of seconds");
    settings["timeout_s"] = typed_scalar(*timeout);
  }
  if (auto verify = e.flag("verify_tls")) settings["verify_tls"] = *verify;
  auto credentials = nlohmann::json::object();
  for (const auto& [field, value] : e.rest()) {
    if (is_credential_field(p.type, field)) {
      credentials[field] = to_json(value, false);
    } else {
      settings[field] = to_json(value, true);
    }
  }
  try {
    p.settings_json = settings.dump();
    if (!credentials.empty()) p.credentials_json = credentials.dump();
  } catch (const nlohmann::json::exception&) {
    e.fail("holds text that is not UTF-8");
  }
  return p;
}

ModelSpec parse_model(const YAML::Node& node, std::size_t i) {
  Entry e(node, indexed("models", i));
  auto m = named_spec(e, "alias", &ModelSpec::alias);
  m.provider = e.required_text("provider");
  m.upstream_model = e.text("upstream_model").value_or(m.alias);
  if (m.upstream_model.empty()) e.fail("upstream_model must not be empty");
  m.capabilities = e.texts("capabilities").value_or(std::vector<std::string>{"chat"});
  if (m.capabilities.empty()) e.fail("capabilities must not be empty");
  for (const auto& capability : m.capabilities) {
    if (!one_of(capability, kCapabilities)) {
      e.fail("unknown capability " + quote(capability) + ", expected one of " + listing(kCapabilities));
    }
  }
  m.enabled = e.flag("enabled").value_or(true);
  m.input_micros_per_mtok = e.money("input_usd_per_mtok").value_or(0);
  m.output_micros_per_mtok = e.money("output_usd_per_mtok").value_or(0);
  m.cached_input_micros_per_mtok = e.money("cached_input_usd_per_mtok");
  e.done();
  return m;
}

TenantSpec parse_tenant(const YAML::Node& node, std::size_t i) {
  Entry e(node, indexed("tenants", i));
  auto t = named_spec(e, "name", &TenantSpec::name);
  if (t.name.rfind(kPersonalTenantPrefix, 0) == 0) {
    e.fail("names starting with " + quote(kPersonalTenantPrefix) + " are kept for personal tenants");
  }
  t.limits = read_limits(e);
  t.budget_period = e.text("budget_period").value_or(t.budget_period);
  if (!one_of(t.budget_period, kBudgetPeriods)) {
    e.fail("budget_period must be one of " + listing(kBudgetPeriods));
  }
  t.models = e.texts("models");
  e.done();
  return t;
}

bool plausible_email(std::string_view email) {
  auto at = email.find('@');
  return printable(email) && email.size() <= 254 && at != std::string_view::npos && at > 0 &&
         at + 1 < email.size() && email.find('@', at + 1) == std::string_view::npos;
}

UserSpec parse_user(const YAML::Node& node, std::size_t i) {
  Entry e(node, indexed("users", i));
  auto u = named_spec(e, "email", &UserSpec::email);
  if (!plausible_email(u.email)) e.fail("email is not an email address");
  u.password = e.text("password");
  if (u.password && u.password->empty()) e.fail("password must not be empty");
  u.display_name = e.text("display_name");
  u.admin = e.flag("admin").value_or(false);
  if (auto list = e.node("memberships")) {
    if (!list->IsSequence()) e.fail("memberships must be a list");
    std::size_t j = 0;
    for (const auto& item : *list) {
      Entry m(item, u.entry + "." + indexed("memberships", j++));
      MembershipSpec membership{m.required_text("tenant"), m.required_text("role")};
      if (!one_of(membership.role, kRoles)) m.fail("role must be one of " + listing(kRoles));
      m.done();
      for (const auto& earlier : u.memberships) {
        if (earlier.tenant == membership.tenant) m.fail("repeats tenant " + quote(membership.tenant));
      }
      u.memberships.push_back(std::move(membership));
    }
  }
  e.done();
  return u;
}

ApiKeySpec parse_api_key(const YAML::Node& node, std::size_t i) {
  Entry e(node, indexed("api_keys", i));
  auto k = named_spec(e, "name", &ApiKeySpec::name);
  k.tenant = e.required_text("tenant");
  k.user = e.text("user");
  k.secret = e.required_text("secret");
  if (!printable(k.secret) || k.secret.size() < kMinSecretLength) {
    e.fail("secret must be at least " + std::to_string(kMinSecretLength) + " characters, without spaces");
  }
  k.limits = read_limits(e);
  e.done();
  return k;
}

std::vector<CategorySpec> parse_categories(const YAML::Node& node) {
  if (!node.IsMap()) throw SeedError("categories must be a mapping of category to model alias");
  std::vector<CategorySpec> out;
  for (const auto& item : node) {
    std::string category = item.first.IsScalar() ? item.first.Scalar() : "?";
    std::string entry = "categories." + category;
    if (!one_of(category, kCategories)) {
      throw SeedError(entry + ": unknown category, expected one of " + listing(kCategories));
    }
    if (!item.second.IsScalar() || item.second.Scalar().empty()) {
      throw SeedError(entry + ": must be a model alias");
    }
    for (const auto& earlier : out) {
      if (earlier.category == category) throw SeedError(entry + ": is given twice");
    }
    out.push_back({entry, category, item.second.Scalar()});
  }
  return out;
}

/// Each item of a top-level list, parsed.
template <typename Spec>
std::vector<Spec> parse_list(const YAML::Node& document, const char* section,
                             Spec (*parse)(const YAML::Node&, std::size_t)) {
  std::vector<Spec> out;
  const YAML::Node list = document[section];
  if (!list || list.IsNull()) return out;
  if (!list.IsSequence()) throw SeedError(std::string(section) + " must be a list");
  for (std::size_t i = 0; i < list.size(); ++i) out.push_back(parse(list[i], i));
  return out;
}

/// Refuses a second entry with the same key.
template <typename Spec, typename KeyOf>
void refuse_duplicates(const std::vector<Spec>& specs, const char* what, KeyOf key_of) {
  std::map<std::string, const Spec*> seen;
  for (const auto& spec : specs) {
    auto [it, fresh] = seen.emplace(key_of(spec), &spec);
    if (!fresh) throw SeedError(spec.entry + ": " + what + " as " + it->second->entry);
  }
}

void check_plan(const SeedPlan& plan) {
  refuse_duplicates(plan.providers, "has the same name", [](const auto& p) { return p.name; });
  refuse_duplicates(plan.models, "has the same alias", [](const auto& m) { return m.alias; });
  refuse_duplicates(plan.tenants, "has the same name", [](const auto& t) { return t.name; });
  refuse_duplicates(plan.users, "has the same email", [](const auto& u) { return lower(u.email); });
  refuse_duplicates(plan.api_keys, "has the same name and tenant",
                    [](const auto& k) { return k.tenant + '\n' + k.name; });
  refuse_duplicates(plan.api_keys, "has the same secret", [](const auto& k) { return k.secret; });
  for (const auto& key : plan.api_keys) {
    auto tenant = std::find_if(plan.tenants.begin(), plan.tenants.end(),
                               [&](const TenantSpec& t) { return t.name == key.tenant; });
    if (tenant == plan.tenants.end()) continue;
    if (auto problem = cap_above_tenant(key.limits, tenant->limits, tenant->name)) {
      throw SeedError(key.entry + ": " + *problem);
    }
  }
}

}  // namespace

bool is_credential_field(const std::string& type, const std::string& field) {
  auto name = lower(field);
  for (const auto& secret : kTypeSecrets) {
    if (secret.type == type && secret.field == name) return true;
  }
  std::size_t start = 0;
  while (start <= name.size()) {
    auto end = std::min(name.find_first_of("_-", start), name.size());
    if (one_of(std::string_view(name).substr(start, end - start), kSecretWords)) return true;
    start = end + 1;
  }
  return false;
}

SeedPlan parse_seed(const YAML::Node& document) {
  SeedPlan plan;
  if (!document || document.IsNull()) return plan;
  if (!document.IsMap()) throw SeedError("a seed file must be a mapping with the keys " + listing(kSections));
  std::set<std::string> sections;
  for (const auto& item : document) {
    std::string key = item.first.IsScalar() ? item.first.Scalar() : "?";
    if (!one_of(key, kSections)) {
      throw SeedError("unknown top-level key " + quote(key) + ", expected one of " + listing(kSections));
    }
    if (!sections.insert(key).second) throw SeedError(key + " is given twice");
  }
  plan.providers = parse_list(document, "providers", &parse_provider);
  plan.models = parse_list(document, "models", &parse_model);
  plan.tenants = parse_list(document, "tenants", &parse_tenant);
  plan.users = parse_list(document, "users", &parse_user);
  plan.api_keys = parse_list(document, "api_keys", &parse_api_key);
  if (const YAML::Node categories = document["categories"]; categories && !categories.IsNull()) {
    plan.categories = parse_categories(categories);
  }
  check_plan(plan);
  return plan;
}

SeedPlan parse_seed_file(const std::string& path) {
  YAML::Node document;
  try {
    document = YAML::LoadFile(path);
  } catch (const YAML::BadFile&) {
    throw SeedError("cannot read the seed file " + path);
  } catch (const YAML::Exception& e) {
    throw SeedError(path + ": " + e.what());
  }
  return parse_seed(document);
}

}  // namespace switchyard::seed
