#include "checks.hpp"

#include <nlohmann/json.hpp>

namespace switchyard::seed {
namespace {

template <typename T>
std::optional<std::string> above(const char* field, const std::optional<T>& key,
                                 const std::optional<T>& tenant, std::string_view tenant_name,
                                 std::string (*show)(T)) {
  if (!key || !tenant || *key <= *tenant) return std::nullopt;
  return std::string(field) + " " + show(*key) + " is above tenant " + quote(tenant_name) + "'s " +
         show(*tenant);
}

template <typename T>
std::string plain(T value) {
  return std::to_string(value);
}

}  // namespace

std::string quote(std::string_view text) {
  return nlohmann::json(text).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::optional<std::string> cap_above_tenant(const Limits& key, const Limits& tenant,
                                            std::string_view tenant_name) {
  if (auto p = above("budget_usd", key.budget_micros, tenant.budget_micros, tenant_name, &format_usd)) {
    return p;
  }
  if (auto p = above("rpm", key.rpm, tenant.rpm, tenant_name, &plain<std::int64_t>)) return p;
  if (auto p = above("tpm", key.tpm, tenant.tpm, tenant_name, &plain<std::int64_t>)) return p;
  return above("parallel", key.parallel, tenant.parallel, tenant_name, &plain<std::int64_t>);
}

}  // namespace switchyard::seed
