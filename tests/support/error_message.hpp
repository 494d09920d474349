#pragma once

#include <string>
#include <utility>

namespace switchyard::testing {

/// The what() of the `Error` that `action` throws, or "" when it returns; any other exception passes.
template <class Error, class Action>
std::string error_message(Action&& action) {
  try {
    std::forward<Action>(action)();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace switchyard::testing
