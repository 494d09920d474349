#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "switchyard/core/money.hpp"
#include "switchyard/seed/seed.hpp"

/// Rules and message text that parsing and applying a seed file share.
namespace switchyard::seed {

/// `text` in double quotes, escaped as JSON, for messages.
std::string quote(std::string_view text);

/// Why `key`'s caps are above `tenant`'s, or nullopt when they are not. An unlimited cap on either side
/// is never above: an uncapped key is held by its tenant's caps anyway.
std::optional<std::string> cap_above_tenant(const Limits& key, const Limits& tenant,
                                            std::string_view tenant_name);

}  // namespace switchyard::seed
