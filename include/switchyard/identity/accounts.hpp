#pragma once

#include <optional>
#include <pqxx/transaction>
#include <string>

#include "switchyard/core/config.hpp"

namespace switchyard::identity {

struct NewUser {
  std::string email;
  std::string display_name;
  std::optional<std::string> password;  ///< none: the user signs in through OIDC only
  bool is_admin = false;
  std::optional<std::string> oidc_issuer;
  std::optional<std::string> oidc_subject;
};

/// Creates a user and their personal tenant (limits and models from `tenancy`), owned by them; returns
/// the user's id. Throws 409 `user_exists` when the email (case-insensitive) is taken, 400 for an
/// invalid email or a password shorter than kMinPasswordLength.
std::string create_user(pqxx::work& tx, const NewUser& user, const TenancySettings& tenancy);

/// The user's id for an OIDC identity: the user who signed in with it before, else the user with that
/// email when the issuer verified it (linked to the identity now), else a new user with a personal tenant.
/// `is_admin` (nullopt when no admin roles are configured) is applied on every sign-in, so the issuer's roles
/// stay the source of truth. Throws 403 permission_error when the user is disabled, or when an unverified
/// email belongs to an existing account (it must not be taken over).
std::string upsert_oidc_user(pqxx::work& tx, const std::string& issuer, const std::string& subject,
                             const std::string& email, bool email_verified, const std::string& display_name,
                             std::optional<bool> is_admin, const TenancySettings& tenancy);

inline constexpr std::size_t kMinPasswordLength = 8;

/// 400 with param `password` unless it has kMinPasswordLength to 1024 characters.
void check_password(const std::string& password);

}  // namespace switchyard::identity
