#include "switchyard/gateway/spend.hpp"

#include <pqxx/pqxx>

#include "switchyard/store/postgres_pool.hpp"

namespace switchyard::gateway {

limits::SpendLoader spend_from_usage(postgres::Pool& pool) {
  return [&pool](const limits::Scope& scope,
                 std::chrono::system_clock::time_point period_start) -> boost::asio::awaitable<Micros> {
    auto since =
        std::chrono::duration_cast<std::chrono::microseconds>(period_start.time_since_epoch()).count();
    std::string column = scope.kind == limits::ScopeKind::key ? "api_key_id" : "tenant_id";
    auto id = scope.id;
    co_return co_await pool.transact([&](pqxx::work& tx) {
      auto row =
          tx.exec_params1("SELECT COALESCE(SUM(cost_micros), 0)::bigint FROM usage_records WHERE " + column +
                              " = $1::uuid AND created_at >= to_timestamp($2::double precision / 1e6)",
                          id, since);
      return row[0].as<Micros>();
    });
  };
}

}  // namespace switchyard::gateway
