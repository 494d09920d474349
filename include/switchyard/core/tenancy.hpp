#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace switchyard {

/// Money is held as integer micro-dollars everywhere: 1 USD is 1'000'000.
using Micros = std::int64_t;

/// Caps of a tenant or an API key; nullopt is unlimited.
struct Limits {
  std::optional<Micros> budget_micros;
  std::optional<std::int64_t> rpm;       ///< requests per minute
  std::optional<std::int64_t> tpm;       ///< tokens (prompt + completion) per minute
  std::optional<std::int64_t> parallel;  ///< requests in flight at once
};

/// A personal tenant's name is this prefix and its user's id; shared tenants may not take such names.
inline constexpr std::string_view kPersonalTenantPrefix = "personal:";

/// When a budget's spend starts again from zero (UTC boundaries); `total` never resets.
enum class BudgetPeriod { daily, weekly, monthly, total };

/// The period a tenants.budget_period value names; monthly, the schema's default, for anything else.
inline BudgetPeriod budget_period_named(std::string_view name) {
  if (name == "daily") return BudgetPeriod::daily;
  if (name == "weekly") return BudgetPeriod::weekly;
  if (name == "total") return BudgetPeriod::total;
  return BudgetPeriod::monthly;
}

}  // namespace switchyard
