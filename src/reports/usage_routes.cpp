#include "switchyard/reports/usage_routes.hpp"

#include <memory>

#include "switchyard/identity/caller.hpp"
#include "switchyard/reports/usage_report.hpp"
#include "switchyard/store/postgres_pool.hpp"

namespace switchyard::reports {
namespace {

namespace asio = boost::asio;

enum class Report { summary, compare };

/// The spec's label for a personal tenant is "Personal", whatever its name in the database.
ReportScope scope_of(const std::vector<identity::TenantMembership>& memberships) {
  ReportScope scope;
  for (const auto& tenant : memberships) {
    bool personal = tenant.kind == auth::TenantKind::personal;
    scope.tenants.push_back({tenant.tenant_id, personal ? "Personal" : tenant.tenant_name});
  }
  return scope;
}

/// Shared by the four routes: the same query and report, told apart by who may ask and what they see.
struct UsageEndpoints {
  postgres::Pool& pool;
  identity::Authenticator& authenticator;
  UsageReports reports;

  asio::awaitable<http::Response> answer(const UsageQuery& query, const ReportScope& scope, Report report) {
    // Named before the co_await: GCC 12 mishandles a lambda temporary inside one.
    auto build = [&](pqxx::work& tx) {
      auto json =
          report == Report::summary ? reports.summary(tx, query, scope) : reports.compare(tx, query, scope);
      return json.dump();
    };
    auto body = co_await pool.transact(build);
    co_return http::Response::json(200, std::move(body));
  }

  asio::awaitable<http::Response> user(http::RequestContext& context, Report report) {
    auto caller = co_await authenticator.authenticate(context, identity::Access::read);
    auto query = parse_usage_query(context.request);
    auto memberships = co_await identity::tenants_of(pool, caller);
    auto scope = scope_of(memberships);
    co_return co_await answer(query, scope, report);
  }

  asio::awaitable<http::Response> admin(http::RequestContext& context, Report report) {
    co_await authenticator.authenticate_admin(context, identity::Access::read);
    auto query = parse_usage_query(context.request);
    auto load = [](pqxx::work& tx) { return every_tenant(tx); };
    auto scope = co_await pool.transact(load);
    co_return co_await answer(query, scope, report);
  }
};

}  // namespace

void add_usage_routes(http::Router& router, postgres::Pool& pool, identity::Authenticator& authenticator) {
  auto endpoints = std::make_shared<UsageEndpoints>(pool, authenticator);
  auto route = [&router, endpoints](const char* path, auto member, Report report) {
    router.add("GET", path, [endpoints, member, report](http::RequestContext& context) {
      return ((*endpoints).*member)(context, report);
    });
  };
  route("/user/usage", &UsageEndpoints::user, Report::summary);
  route("/user/usage/compare", &UsageEndpoints::user, Report::compare);
  route("/admin/usage", &UsageEndpoints::admin, Report::summary);
  route("/admin/usage/compare", &UsageEndpoints::admin, Report::compare);
}

}  // namespace switchyard::reports
