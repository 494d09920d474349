#pragma once

#include <string>

/// Bring-your-own provider keys (table provider_keys): how their ciphertext is bound to its row.
namespace switchyard::auth {

enum class ProviderKeyOwner { user, tenant };

/// The associated data of a provider key's ciphertext: the provider and the owner, so that a ciphertext
/// copied to another row does not decrypt.
std::string provider_key_context(const std::string& provider_id, ProviderKeyOwner owner,
                                 const std::string& owner_id);

/// What a list may show of a secret: its last four characters.
std::string masked_secret(const std::string& secret);

}  // namespace switchyard::auth
