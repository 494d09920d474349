#include "switchyard/identity/accounts.hpp"

#include <pqxx/except>

#include "switchyard/core/crypto.hpp"
#include "switchyard/core/error.hpp"

namespace switchyard::identity {
namespace {

constexpr std::size_t kMaxEmailLength = 254;
constexpr std::size_t kMaxPasswordLength = 1024;

/// Deliberately loose (one '@', something on both sides, a dot in the domain, no blanks): the address is
/// an identifier here, and mail delivery is not ours to judge.
bool plausible_email(const std::string& email) {
  auto at = email.find('@');
  if (email.empty() || email.size() > kMaxEmailLength || at == std::string::npos || at == 0) return false;
  if (email.find('@', at + 1) != std::string::npos) return false;
  auto domain = email.substr(at + 1);
  if (domain.empty() || domain.find('.') == std::string::npos || domain.front() == '.' ||
      domain.back() == '.')
    return false;
  for (char c : email) {
    if (static_cast<unsigned char>(c) <= ' ') return false;
  }
  return true;
}

}  // namespace

void check_password(const std::string& password) {
  if (password.size() < kMinPasswordLength) {
    throw ApiError::invalid_request(
        "The password must have at least " + std::to_string(kMinPasswordLength) + " characters.", "password");
  }
  if (password.size() > kMaxPasswordLength) {
    throw ApiError::invalid_request("The password is too long.", "password");
  }
}

namespace {

std::string create_personal_tenant(pqxx::work& tx, const std::string& user_id,
                                   const TenancySettings& tenancy) {
  const auto& caps = tenancy.personal_limits;
  auto tenant_id = tx.exec_params1(
                         "INSERT INTO tenants (kind, name, budget_micros, rpm, tpm, parallel, all_models) "
                         "VALUES ('personal', $1, $2, $3, $4, $5, $6) RETURNING id",
                         std::string(kPersonalTenantPrefix) + user_id, caps.budget_micros, caps.rpm, caps.tpm,
                         caps.parallel, tenancy.personal_models.empty())[0]
                       .as<std::string>();
  for (const auto& alias : tenancy.personal_models) {
    tx.exec_params(
        "INSERT INTO tenant_models (tenant_id, model_id) SELECT $1, id FROM models WHERE alias = $2",
        tenant_id, alias);
  }
  tx.exec_params("UPDATE users SET personal_tenant_id = $1 WHERE id = $2", tenant_id, user_id);
  tx.exec_params("INSERT INTO memberships (tenant_id, user_id, role) VALUES ($1, $2, 'owner')", tenant_id,
                 user_id);
  return tenant_id;
}

}  // namespace

std::string create_user(pqxx::work& tx, const NewUser& user, const TenancySettings& tenancy) {
  if (!plausible_email(user.email)) throw ApiError::invalid_request("That is not an email address.", "email");
  std::optional<std::string> password_hash;
  if (user.password) {
    check_password(*user.password);
    password_hash = crypto::hash_password(*user.password);
  }
  if (!tx.exec_params("SELECT 1 FROM users WHERE lower(email) = lower($1)", user.email).empty()) {
    throw ApiError(409, "invalid_request_error", "user_exists", "A user with this email already exists.",
                   "email");
  }
  auto user_id =
      tx.exec_params1(
            "INSERT INTO users (email, display_name, password_hash, is_admin, oidc_issuer, oidc_subject) "
            "VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
            user.email, user.display_name, password_hash, user.is_admin, user.oidc_issuer,
            user.oidc_subject)[0]
          .as<std::string>();
  create_personal_tenant(tx, user_id, tenancy);
  return user_id;
}

std::string upsert_oidc_user(pqxx::work& tx, const std::string& issuer, const std::string& subject,
                             const std::string& email, bool email_verified, const std::string& display_name,
                             std::optional<bool> is_admin, const TenancySettings& tenancy) {
  auto known = tx.exec_params(
      "SELECT id, disabled FROM users WHERE oidc_issuer = $1 AND oidc_subject = $2 "
      "UNION ALL SELECT id, disabled FROM users WHERE $4 AND oidc_issuer IS NULL AND lower(email) = "
      "lower($3) "
      "LIMIT 1",
      issuer, subject, email, email_verified);
  if (known.empty()) {
    if (!tx.exec_params("SELECT 1 FROM users WHERE lower(email) = lower($1)", email).empty()) {
      // The address belongs to an account linked to another identity, or the issuer did not verify it.
      throw ApiError(403, "permission_error", "account_exists",
                     "An account with this email exists and cannot be linked to this sign-in.");
    }
    NewUser user;
    user.email = email;
    user.display_name = display_name;
    user.is_admin = is_admin.value_or(false);
    user.oidc_issuer = issuer;
    user.oidc_subject = subject;
    return create_user(tx, user, tenancy);
  }
  if (known[0][1].as<bool>()) {
    throw ApiError(403, "permission_error", "user_disabled", "This account is disabled.");
  }
  auto user_id = known[0][0].as<std::string>();
  tx.exec_params(
      "UPDATE users SET oidc_issuer = $2, oidc_subject = $3, is_admin = COALESCE($4, is_admin), "
      "display_name = CASE WHEN display_name = '' THEN $5 ELSE display_name END, updated_at = now() "
      "WHERE id = $1",
      user_id, issuer, subject, is_admin, display_name);
  if (tx.exec_params1("SELECT personal_tenant_id IS NULL FROM users WHERE id = $1", user_id)[0].as<bool>()) {
    create_personal_tenant(tx, user_id, tenancy);
  }
  return user_id;
}

}  // namespace switchyard::identity
