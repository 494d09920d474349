#include "switchyard/jwt_orgs/store.hpp"

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <memory>
#include <pqxx/pqxx>
#include <stdexcept>

#include "switchyard/core/crypto.hpp"
#include "switchyard/core/ids.hpp"

namespace switchyard::jwt_orgs {

std::string secret_context(const std::string& tenant_id) { return "tenant-jwt:" + tenant_id; }

std::optional<TokenKey> load_tenant_key(pqxx::work& tx, const crypto::MasterKey& master_key,
                                        const std::string& tenant_id) {
  auto rows = tx.exec_params(
      "SELECT algorithm, hs256_secret, rs256_public_key FROM tenant_jwt_settings WHERE tenant_id = $1::uuid",
      tenant_id);
  if (rows.empty()) return std::nullopt;
  const auto& row = rows[0];
  auto algorithm = parse_algorithm(row[0].as<std::string>());
  if (!algorithm) return std::nullopt;
  if (*algorithm == Algorithm::rs256) return TokenKey{*algorithm, row[2].as<std::string>()};
  auto secret = master_key.decrypt(pqxx::binarystring(row[1]).str(), secret_context(tenant_id));
  if (!secret || secret->empty()) return std::nullopt;
  return TokenKey{*algorithm, std::move(*secret)};
}

void store_tenant_key(pqxx::work& tx, const crypto::MasterKey& master_key, const std::string& tenant_id,
                      const std::optional<TokenKey>& key) {
  if (!key) {
    tx.exec_params("DELETE FROM tenant_jwt_settings WHERE tenant_id = $1::uuid", tenant_id);
    return;
  }
  std::optional<std::string> sealed_hex;
  std::optional<std::string> public_key;
  if (key->algorithm == Algorithm::hs256) {
    if (key->material.empty()) throw std::invalid_argument("an HS256 secret must not be empty");
    sealed_hex = crypto::hex(master_key.encrypt(key->material, secret_context(tenant_id)));
  } else {
    check_public_key(key->material);
    public_key = key->material;
  }
  tx.exec_params(
      "INSERT INTO tenant_jwt_settings (tenant_id, algorithm, hs256_secret, rs256_public_key) "
      "VALUES ($1::uuid, $2, decode($3, 'hex'), $4) ON CONFLICT (tenant_id) DO UPDATE SET algorithm = "
      "EXCLUDED.algorithm, "
      "hs256_secret = EXCLUDED.hs256_secret, rs256_public_key = EXCLUDED.rs256_public_key, updated_at = "
      "now()",
      tenant_id, std::string(algorithm_name(key->algorithm)), sealed_hex, public_key);
}

void check_public_key(const std::string& pem) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())),
                                                &BIO_free);
  if (!bio) throw std::runtime_error("OpenSSL: out of memory");
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> parsed(
      PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr), &EVP_PKEY_free);
  if (!parsed) throw std::invalid_argument("not a public key in PEM (-----BEGIN PUBLIC KEY-----)");
  if (EVP_PKEY_base_id(parsed.get()) != EVP_PKEY_RSA) throw std::invalid_argument("not an RSA public key");
}

std::string ensure_user(pqxx::work& tx, const std::string& tenant_id, const std::string& external_id) {
  constexpr const char* kFind =
      "SELECT user_id FROM jwt_users WHERE tenant_id = $1::uuid AND external_id = $2";
  if (auto found = tx.exec_params(kFind, tenant_id, external_id); !found.empty()) {
    return found[0][0].as<std::string>();
  }
  // The email only has to be unique and unusable: `.invalid` is reserved (RFC 2606) and never delivers.
  auto user_id = tx.exec_params1(
                       "INSERT INTO users (email, display_name) "
                       "VALUES ('jwt-' || gen_random_uuid() || '@jwt-organisation.invalid', $1) RETURNING id",
                       external_id)[0]
                     .as<std::string>();
  // A concurrent first request may have mapped the same user meanwhile: ON CONFLICT waits for it to commit,
  // and then this transaction takes the winner's user and drops its own.
  auto mapped = tx.exec_params(
      "INSERT INTO jwt_users (tenant_id, external_id, user_id) VALUES ($1::uuid, $2, $3::uuid) "
      "ON CONFLICT (tenant_id, external_id) DO NOTHING RETURNING user_id",
      tenant_id, external_id, user_id);
  if (mapped.empty()) {
    tx.exec_params("DELETE FROM users WHERE id = $1::uuid", user_id);
    return tx.exec_params1(kFind, tenant_id, external_id)[0].as<std::string>();
  }
  tx.exec_params(
      "INSERT INTO memberships (tenant_id, user_id, role) VALUES ($1::uuid, $2::uuid, 'user') "
      "ON CONFLICT DO NOTHING",
      tenant_id, user_id);
  return user_id;
}

}  // namespace switchyard::jwt_orgs
