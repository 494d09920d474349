#include "switchyard/auth/provider_keys.hpp"

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

}  // namespace switchyard::auth
