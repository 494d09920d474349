#include "switchyard/auth/provider_keys.hpp"

#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include "switchyard/auth/catalog.hpp"
#include "switchyard/core/crypto.hpp"
#include "switchyard/core/error.hpp"

namespace switchyard::auth {

std::string provider_key_context(const std::string& provider_id, ProviderKeyOwner owner,
                                 const std::string& owner_id) {
  return "provider-key:" + provider_id + ":" + (owner == ProviderKeyOwner::user ? "user:" : "tenant:") +
         owner_id;
}

std::string masked_secret(const std::string& secret) {
  constexpr std::size_t kShown = 4;
  // A short secret shows nothing: four characters of six would give most of it away.
  if (secret.size() < 4 * kShown) return "...";
  return "..." + secret.substr(secret.size() - kShown);
}

std::string store_own_provider_key(pqxx::work& tx, const crypto::MasterKey& master_key,
                                   const std::string& provider_id, ProviderKeyOwner owner,
                                   const std::string& owner_id, const std::string& secret,
                                   const std::optional<std::string>& created_by) {
  auto sealed = master_key.encrypt(nlohmann::json{{"api_key", secret}}.dump(),
                                   provider_key_context(provider_id, owner, owner_id));
  auto masked = masked_secret(secret);
  bool users = owner == ProviderKeyOwner::user;
  std::optional<std::string> tenant_id;
  std::optional<std::string> user_id;
  (users ? user_id : tenant_id) = owner_id;
  // One key per provider and owner: a second one replaces the first.
  tx.exec_params(
      std::string("INSERT INTO provider_keys (provider_id, tenant_id, user_id, credentials, masked_suffix, "
                  "created_by) VALUES ($1::uuid, $2::uuid, $3::uuid, decode($4, 'hex'), $5, $6::uuid) "
                  "ON CONFLICT ") +
          (users ? "(provider_id, user_id) WHERE user_id IS NOT NULL"
                 : "(provider_id, tenant_id) WHERE tenant_id IS NOT NULL") +
          " DO UPDATE SET credentials = EXCLUDED.credentials, masked_suffix = EXCLUDED.masked_suffix, "
          "updated_at = now()",
      provider_id, tenant_id, user_id, crypto::hex(sealed), masked, created_by);
  return masked;
}

std::map<std::string, std::string> load_own_provider_keys(pqxx::work& tx, const crypto::MasterKey& master_key,
                                                          const std::string& tenant_id,
                                                          const std::optional<std::string>& user_id) {
  // The tenant's rows first, so that the user's replace them.
  auto rows = tx.exec_params(
      "SELECT provider_id, user_id IS NOT NULL, credentials FROM provider_keys "
      "WHERE tenant_id = $1 OR ($2::uuid IS NOT NULL AND user_id = $2::uuid) ORDER BY user_id IS NOT NULL",
      tenant_id, user_id);
  std::map<std::string, std::string> keys;
  for (const auto& row : rows) {
    auto provider_id = row[0].as<std::string>();
    bool users = row[1].as<bool>();
    auto context = provider_key_context(
        provider_id, users ? ProviderKeyOwner::user : ProviderKeyOwner::tenant, users ? *user_id : tenant_id);
    auto sealed = pqxx::binarystring(row[2]);
    auto plain = master_key.decrypt(sealed.str(), context);
    if (!plain) continue;
    auto credentials = nlohmann::json::parse(*plain, nullptr, false);
    if (credentials.is_object() && credentials.value("api_key", "") != "") {
      keys[provider_id] = credentials["api_key"].get<std::string>();
    }
  }
  return keys;
}

std::shared_ptr<const ModelInfo> with_own_credentials(const std::shared_ptr<const ModelInfo>& model,
                                                      const Principal& principal) {
  const auto& provider = *model->provider;
  auto own = principal.own_provider_keys.find(provider.id);
  if (own == principal.own_provider_keys.end()) {
    // Providers that always authenticate with an API key; self-hosted OpenAI-compatible servers often need
    // none.
    bool needs_key = provider.type == "openai" || provider.type == "azure" || provider.type == "anthropic" ||
                     provider.type == "gemini";
    bool platform_has_key = provider.credentials.value("api_key", "") != "" ||
                            provider.credentials.value("bearer_token", "") != "";
    if (needs_key && !platform_has_key) {
      throw ApiError(403, "permission_error", "no_provider_key",
                     "No API key is available for provider '" + provider.name +
                         "': add your own (POST /v1/users/provider-keys) or ask an administrator for one.");
    }
    return model;
  }
  auto provider_copy = std::make_shared<ProviderInfo>(provider);
  // The own key replaces the platform's key (and any bearer token that would win over it); other credential
  // fields of the provider stay.
  provider_copy->credentials.erase("bearer_token");
  provider_copy->credentials["api_key"] = own->second;
  auto model_copy = std::make_shared<ModelInfo>(*model);
  model_copy->provider = std::move(provider_copy);
  return model_copy;
}

}  // namespace switchyard::auth
