#pragma once

#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "switchyard/core/tenancy.hpp"

/// USD amounts as people write them, and micro-dollars as Switchyard keeps them. Pure.
namespace switchyard {

/// Decimal USD text ("10", "0.15", "0.000001") to micro-dollars, exactly: no sign, no exponent, no digit
/// finer than a micro-dollar (trailing zeros aside); nullopt otherwise or beyond Micros' range.
std::optional<Micros> parse_usd(std::string_view text);

/// A JSON amount in USD: a non-negative number or decimal text, read through its shortest decimal spelling
/// so that 0.1 is 100000 micro-dollars, not 99999; a number only written with an exponent (1e-07) is rounded
/// to the nearest micro-dollar. nullopt for anything else.
std::optional<Micros> usd_from_json(const nlohmann::json& value);

/// Micro-dollars as the shortest exact decimal USD text ("10", "0.15").
std::string format_usd(Micros micros);

/// Micro-dollars as a JSON number of USD, for answers (exact to the micro-dollar below 2^53).
double usd_number(Micros micros);

}  // namespace switchyard
