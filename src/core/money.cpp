#include "switchyard/core/money.hpp"

#include <charconv>
#include <limits>
#include <nlohmann/json.hpp>

namespace switchyard {
namespace {

bool all_digits(std::string_view text) {
  return text.find_first_not_of("0123456789") == std::string_view::npos;
}

constexpr Micros kMicrosPerUsd = 1'000'000;

}  // namespace

std::optional<Micros> parse_usd(std::string_view text) {
  auto dot = text.find('.');
  std::string_view whole = text.substr(0, dot);
  std::string_view fraction = dot == std::string_view::npos ? std::string_view{} : text.substr(dot + 1);
  if ((whole.empty() && fraction.empty()) || !all_digits(whole) || !all_digits(fraction)) return std::nullopt;
  if (fraction.size() > 6) {
    if (fraction.find_first_not_of('0', 6) != std::string_view::npos) return std::nullopt;
    fraction = fraction.substr(0, 6);
  }
  Micros dollars = 0;
  if (!whole.empty()) {
    auto [end, ec] = std::from_chars(whole.data(), whole.data() + whole.size(), dollars);
    if (ec != std::errc{} || dollars > (std::numeric_limits<Micros>::max() - 999'999) / kMicrosPerUsd) {
      return std::nullopt;
    }
  }
  std::string micros{fraction};
  micros.append(6 - micros.size(), '0');
  return dollars * kMicrosPerUsd + std::stoll(micros);
}

std::optional<Micros> usd_from_json(const nlohmann::json& value) {
  if (value.is_string()) return parse_usd(value.get_ref<const std::string&>());
  if (value.is_number_unsigned() || value.is_number_integer()) {
    if (value.is_number_integer() && value.get<std::int64_t>() < 0) return std::nullopt;
    return parse_usd(value.dump());
  }
  if (value.is_number_float()) {
    // nlohmann prints the shortest text that reads back as the same double: "0.1", never
    // "0.1000000000000000055".
    auto text = value.dump();
    if (text.find_first_of("eE") != std::string::npos) {
      double amount = value.get<double>();
      if (!(amount >= 0) || amount > 1e12) return std::nullopt;
      return static_cast<Micros>(amount * static_cast<double>(kMicrosPerUsd) + 0.5);
    }
    return parse_usd(text);
  }
  return std::nullopt;
}

std::string format_usd(Micros micros) {
  std::string out = std::to_string(micros / kMicrosPerUsd);
  if (Micros fraction = micros % kMicrosPerUsd; fraction != 0) {
    std::string digits = std::to_string(fraction);
    digits.insert(0, 6 - digits.size(), '0');
    out += "." + digits.substr(0, digits.find_last_not_of('0') + 1);
  }
  return out;
}

double usd_number(Micros micros) { return static_cast<double>(micros) / static_cast<double>(kMicrosPerUsd); }

}  // namespace switchyard
