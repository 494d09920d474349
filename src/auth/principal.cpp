#include "switchyard/auth/principal.hpp"

#include <algorithm>

namespace switchyard::auth {

bool Principal::may_use(std::string_view alias) const {
  return all_models || std::binary_search(granted_aliases.begin(), granted_aliases.end(), alias);
}

}  // namespace switchyard::auth
