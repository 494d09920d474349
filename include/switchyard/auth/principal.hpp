#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "switchyard/core/tenancy.hpp"

namespace switchyard::auth {

enum class TenantKind { personal, shared };

/// What a key may do: `read` calls GET routes, `write` may spend.
struct Scopes {
  bool read = false;
  bool write = false;
};

/// Who an authenticated API key acts for, as Postgres described it when the key was loaded. Immutable and
/// shared (`std::shared_ptr<const Principal>`), so requests on any thread may hold it for as long as they
/// run while the cache replaces it.
struct Principal {
  std::string key_id;
  std::string key_name;
  std::string tenant_id;
  std::string tenant_name;
  TenantKind tenant_kind = TenantKind::shared;
  std::optional<std::string> user_id;  ///< the key's owner, when it has one
  Scopes scopes;
  Limits key_limits;
  Limits tenant_limits;
  /// The tenant's budget period; the key's budget shares it (the schema gives keys none of their own).
  BudgetPeriod budget_period = BudgetPeriod::monthly;
  std::optional<std::chrono::system_clock::time_point> expires_at;
  /// true: the tenant may use every enabled model; false: only `granted_aliases`.
  bool all_models = true;
  std::vector<std::string> granted_aliases;  ///< sorted
  /// The user's and tenant's own provider keys (bring your own key), by provider id: the user's win.
  /// Never log them.
  std::map<std::string, std::string> own_provider_keys;

  /// Whether the tenant's grants cover `alias` (whether the model exists and is enabled is the catalogue's
  /// business).
  bool may_use(std::string_view alias) const;
  bool expired(std::chrono::system_clock::time_point now) const { return expires_at && *expires_at <= now; }
};

}  // namespace switchyard::auth
