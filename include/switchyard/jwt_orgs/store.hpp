#pragma once

#include <optional>
#include <pqxx/transaction>
#include <string>
#include <string_view>

#include "switchyard/jwt_orgs/token.hpp"

namespace switchyard::crypto {
class MasterKey;
}

/// Where JWT organisations live in Postgres (migration 0004): a tenant's key and its X-User-ID users.
namespace switchyard::jwt_orgs {

/// The associated data of a tenant's sealed HS256 secret, so that it decrypts in its own row only.
std::string secret_context(const std::string& tenant_id);

/// The key that verifies the tenant's tokens; nullopt when the tenant accepts none (or its secret does not
/// decrypt under this master key, which must not turn into an empty key).
std::optional<TokenKey> load_tenant_key(pqxx::work& tx, const crypto::MasterKey& master_key,
                                        const std::string& tenant_id);

/// Replaces the tenant's JWT settings; nullopt turns JWTs off. The tenant change notification reaches every
/// process's cache when the transaction commits. Throws std::invalid_argument for an unusable key.
void store_tenant_key(pqxx::work& tx, const crypto::MasterKey& master_key, const std::string& tenant_id,
                      const std::optional<TokenKey>& key);

/// Throws std::invalid_argument unless `pem` is an RSA public key in PEM.
void check_public_key(const std::string& pem);

/// The id (users.id) of the tenant's user that X-User-ID `external_id` names. The first time, the user is
/// made: a synthetic email no one can sign in with, the external id as display name, a membership with role
/// `user`. Safe when several transactions make the same user at once: all get the one that won.
std::string ensure_user(pqxx::work& tx, const std::string& tenant_id, const std::string& external_id);

}  // namespace switchyard::jwt_orgs
