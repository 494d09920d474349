#pragma once

#include <boost/asio/awaitable.hpp>
#include <nlohmann/json.hpp>
#include <pqxx/pqxx>
#include <string>
#include <string_view>
#include <utility>

#include "switchyard/admin/admin_routes.hpp"
#include "switchyard/core/error.hpp"
#include "switchyard/identity/audit.hpp"
#include "switchyard/identity/caller.hpp"
#include "switchyard/store/postgres_pool.hpp"

/// What the route files of the admin module share.
namespace switchyard::admin {

void add_provider_routes(http::Router& router, const AdminParts& parts);
void add_model_routes(http::Router& router, const AdminParts& parts);
void add_audit_routes(http::Router& router, const AdminParts& parts);
void add_catalogue_views(http::Router& router, const AdminParts& parts);

/// What a route's transaction answers.
struct Answer {
  int status = 200;
  nlohmann::json body;
};

/// One administrator's request, as the work inside its transaction sees it.
struct AdminCall {
  const AdminParts& parts;
  const identity::Caller& caller;
  http::RequestContext& context;

  const std::string& param(const char* name) const { return context.params.at(name); }
  /// Writes `entry` in `tx`: it lands if and only if the change does.
  void audit(pqxx::work& tx, const identity::AuditEntry& entry) const {
    identity::record_audit(tx, caller, context.log.request_id(), entry);
  }
  /// Audits a change of `entry.target_id` and answers with `entry.after`, or for a deletion with
  /// OpenAI's `{id, object, deleted: true}`.
  Answer changed(pqxx::work& tx, const identity::AuditEntry& entry, int status = 200) const {
    audit(tx, entry);
    if (!entry.after.is_null()) return {status, entry.after};
    return {status, {{"id", entry.target_id}, {"object", entry.target_type}, {"deleted", true}}};
  }
};

/// A handler for platform administrators only: authenticates the caller (403 for anyone else), then
/// runs `work(tx, call)` in one transaction on the pool and answers what it returns. `work` runs on a
/// pool thread and may throw ApiError, which rolls the transaction back.
template <class Work>
http::Handler admin_handler(const AdminParts& parts, identity::Access access, Work work) {
  return [parts, access, work](http::RequestContext& context) -> boost::asio::awaitable<http::Response> {
    auto caller = co_await parts.authenticator.authenticate_admin(context, access);
    AdminCall call{parts, caller, context};
    auto run = [&work, &call](pqxx::work& tx) { return work(tx, call); };
    auto answer = co_await parts.pool.transact(run);
    co_return http::Response::json(answer.status, answer.body.dump());
  };
}

/// The work of one route, inside its transaction.
using Work = Answer (*)(pqxx::work& tx, const AdminCall& call);

/// A collection at `path` with items at `path/{id}`: list and create, read, patch and delete.
struct Collection {
  std::string path;
  Work list;
  Work create;
  Work read;
  Work update;
  Work remove;
};

/// The five routes of `collection`, for administrators only.
void add_collection(http::Router& router, const AdminParts& parts, const Collection& collection);

/// 404 for an id that names no row of `kind` (or is not an id at all).
ApiError no_such(std::string_view kind);

/// 409 for a change that clashes with what is stored.
ApiError conflict(std::string code, std::string message, std::string param = {});

/// A stored JSON object column (settings, audit before/after); null stays null.
nlohmann::json json_column(const pqxx::field& field);

}  // namespace switchyard::admin
