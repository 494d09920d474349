#pragma once

#include <cstdint>
#include <optional>

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

/// When a budget's spend starts again from zero (UTC boundaries); `total` never resets.
enum class BudgetPeriod { daily, weekly, monthly, total };

}  // namespace switchyard
