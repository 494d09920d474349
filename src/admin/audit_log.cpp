#include "routes.hpp"
#include "switchyard/admin/catalogue.hpp"
#include "switchyard/store/sql_text.hpp"

namespace switchyard::admin {
namespace {

namespace asio = boost::asio;
using identity::Access;
using nlohmann::json;

using postgres::text_or_null;

json audit_json(const pqxx::row& row) {
  return {{"id", row[0].as<std::int64_t>()},
          {"actor",
           {{"user_id", text_or_null(row[1])},
            {"email", text_or_null(row[2])},
            {"api_key_id", text_or_null(row[3])}}},
          {"action", row[4].as<std::string>()},
          {"target_type", text_or_null(row[5])},
          {"target_id", text_or_null(row[6])},
          {"tenant_id", text_or_null(row[7])},
          {"before", json_column(row[8])},
          {"after", json_column(row[9])},
          {"request_id", text_or_null(row[10])},
          {"created_at", row[11].as<std::string>()}};
}

/// One page of the audit log, newest first; `has_more` when older entries match too.
json audit_page(pqxx::work& tx, const AuditQuery& query) {
  auto rows = tx.exec_params(
      "SELECT a.id, a.actor_user_id::text, u.email, a.actor_api_key_id::text, a.action, a.target_type, "
      "a.target_id, a.tenant_id::text, a.before::text, a.after::text, a.request_id, " +
          postgres::rfc3339_sql("a.created_at") +
          " FROM audit_log a LEFT JOIN users u ON u.id = a.actor_user_id "
          "WHERE ($1::bigint IS NULL OR a.id < $1) AND ($2::uuid IS NULL OR a.tenant_id = $2) "
          "AND ($3::text IS NULL OR a.action = $3) AND ($4::uuid IS NULL OR a.actor_user_id = $4) "
          "ORDER BY a.id DESC LIMIT $5",
      query.before, query.tenant_id, query.action, query.actor_user_id, query.limit + 1);
  auto data = json::array();
  bool has_more = rows.size() > static_cast<std::size_t>(query.limit);
  for (std::size_t i = 0; i < rows.size() && i < static_cast<std::size_t>(query.limit); ++i) {
    data.push_back(audit_json(rows[i]));
  }
  json next_before = has_more ? data.back()["id"] : json(nullptr);
  return {
      {"object", "list"}, {"data", std::move(data)}, {"has_more", has_more}, {"next_before", next_before}};
}

}  // namespace

void add_audit_routes(http::Router& router, const AdminParts& parts) {
  router.add("GET", "/admin/audit",
             admin_handler(parts, Access::read, [](pqxx::work& tx, const AdminCall& call) {
               return Answer{200, audit_page(tx, parse_audit_query(call.context.request))};
             }));
  // A tenant's owners and admins read its own entries; require_tenant answers 404 to anyone else.
  router.add("GET", "/user/tenants/{id}/audit",
             [parts](http::RequestContext& context) -> asio::awaitable<http::Response> {
               auto caller = co_await parts.authenticator.authenticate(context, Access::read);
               auto tenant = co_await identity::require_tenant(parts.pool, caller, context.params.at("id"),
                                                               identity::Role::admin);
               auto query = parse_audit_query(context.request);
               query.tenant_id = tenant.tenant_id;
               auto run = [&query](pqxx::work& tx) { return audit_page(tx, query); };
               auto page = co_await parts.pool.transact(run);
               co_return http::Response::json(200, page.dump());
             });
}

}  // namespace switchyard::admin
