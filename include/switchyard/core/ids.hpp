#pragma once

#include <string_view>

namespace switchyard {

/// Whether `text` is a UUID in its canonical 8-4-4-4-12 hex form (either case): what every id of a tenant,
/// user, key or usage row looks like. Checked before such text reaches a `uuid` column. Pure.
bool is_uuid(std::string_view text);

}  // namespace switchyard
