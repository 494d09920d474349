#pragma once

#include <chrono>

namespace switchyard::redis {

/// The pause after `failures` (≥ 1) connection attempts in a row have failed: 100 ms, doubling with each
/// failure up to `cap`, then scaled by `jitter` (drawn from [0.5, 1]) so that replicas which lost Redis
/// together do not all come back at the same instant.
std::chrono::milliseconds reconnect_delay(unsigned failures, std::chrono::milliseconds cap, double jitter);

}  // namespace switchyard::redis
