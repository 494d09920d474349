#pragma once

#include "switchyard/limits/admission.hpp"

namespace switchyard::postgres {
class Pool;
}

namespace switchyard::gateway {

/// Rebuilds a scope's spend in a budget period from the usage records, for the Admitter when Redis has
/// lost its counter (a restart): spend survives Redis. The pool must outlive the loader's calls.
limits::SpendLoader spend_from_usage(postgres::Pool& pool);

}  // namespace switchyard::gateway
