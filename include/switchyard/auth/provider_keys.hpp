#pragma once

#include <map>
#include <memory>
#include <optional>
#include <pqxx/transaction>
#include <string>

namespace switchyard::crypto {
class MasterKey;
}

/// Bring-your-own provider keys (table provider_keys): how their ciphertext is bound to its row.
namespace switchyard::auth {

struct ModelInfo;
struct Principal;

enum class ProviderKeyOwner { user, tenant };

/// The associated data of a provider key's ciphertext: the provider and the owner, so that a ciphertext
/// copied to another row does not decrypt.
std::string provider_key_context(const std::string& provider_id, ProviderKeyOwner owner,
                                 const std::string& owner_id);

/// What a list may show of a secret: its last four characters.
std::string masked_secret(const std::string& secret);

/// Stores `secret` as the owner's key for the provider (replacing an earlier one), sealed with AES-256-GCM
/// under provider_key_context(); returns the masked suffix, the only part ever shown again.
std::string store_own_provider_key(pqxx::work& tx, const crypto::MasterKey& master_key,
                                   const std::string& provider_id, ProviderKeyOwner owner,
                                   const std::string& owner_id, const std::string& secret,
                                   const std::optional<std::string>& created_by);

/// The provider keys a request of this tenant and user is sent with, by provider id: the tenant's, each
/// replaced by the user's own where the user has one. A ciphertext that does not decrypt is left out (and
/// the platform's key serves), never sent.
std::map<std::string, std::string> load_own_provider_keys(pqxx::work& tx, const crypto::MasterKey& master_key,
                                                          const std::string& tenant_id,
                                                          const std::optional<std::string>& user_id);

/// The model with the credential this principal's request must carry: the user's or tenant's own key for
/// the model's provider when there is one (a copy of the model then), else the platform's (the model as it
/// is). Throws 403 permission_error when the provider needs a key and neither the principal nor the
/// platform has one (spec 002). Pure.
std::shared_ptr<const ModelInfo> with_own_credentials(const std::shared_ptr<const ModelInfo>& model,
                                                      const Principal& principal);

}  // namespace switchyard::auth
