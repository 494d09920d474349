#pragma once

#include "switchyard/core/config.hpp"

namespace switchyard::app {

/// `switchyard serve`: runs the gateway until SIGTERM or SIGINT, then drains. Returns the exit status.
int serve(const Config& config);

}  // namespace switchyard::app
