#include "routes.hpp"

namespace switchyard::admin {

void add_admin_routes(http::Router& router, AdminParts parts) {
  add_provider_routes(router, parts);
  add_model_routes(router, parts);
  add_audit_routes(router, parts);
  add_catalogue_views(router, parts);
}

void add_collection(http::Router& router, const AdminParts& parts, const Collection& collection) {
  using identity::Access;
  auto item = collection.path + "/{id}";
  router.add("GET", collection.path, admin_handler(parts, Access::read, collection.list));
  router.add("POST", collection.path, admin_handler(parts, Access::write, collection.create));
  router.add("GET", item, admin_handler(parts, Access::read, collection.read));
  router.add("PATCH", item, admin_handler(parts, Access::write, collection.update));
  router.add("DELETE", item, admin_handler(parts, Access::write, collection.remove));
}

ApiError no_such(std::string_view kind) {
  return {404, "invalid_request_error", std::string(kind) + "_not_found",
          "No such " + std::string(kind) + "."};
}

ApiError conflict(std::string code, std::string message, std::string param) {
  return {409, "invalid_request_error", std::move(code), std::move(message), std::move(param)};
}

nlohmann::json json_column(const pqxx::field& field) {
  if (field.is_null()) return nullptr;
  return nlohmann::json::parse(field.as<std::string>());
}

}  // namespace switchyard::admin
