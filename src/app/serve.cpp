#include "serve.hpp"

#include <boost/asio/signal_set.hpp>
#include <filesystem>
#include <pqxx/except>

#include "switchyard/admin/admin_routes.hpp"
#include "switchyard/auth/catalog.hpp"
#include "switchyard/auth/changes.hpp"
#include "switchyard/auth/key_cache.hpp"
#include "switchyard/core/crypto.hpp"
#include "switchyard/core/error.hpp"
#include "switchyard/core/logging.hpp"
#include "switchyard/gateway/gateway.hpp"
#include "switchyard/gateway/spend.hpp"
#include "switchyard/http/server.hpp"
#include "switchyard/http/static_files.hpp"
#include "switchyard/http/upstream_client.hpp"
#include "switchyard/identity/caller.hpp"
#include "switchyard/identity/login_throttle.hpp"
#include "switchyard/jwt_orgs/authenticator.hpp"
#include "switchyard/limits/admission.hpp"
#include "switchyard/oidc/routes.hpp"
#include "switchyard/ops/operational_routes.hpp"
#include "switchyard/portal/portal.hpp"
#include "switchyard/providers/mock.hpp"
#include "switchyard/providers/openai_wire.hpp"
#include "switchyard/reports/usage_routes.hpp"
#include "switchyard/store/migrations.hpp"
#include "switchyard/store/postgres_pool.hpp"
#include "switchyard/store/redis_client.hpp"
#include "switchyard/usage/usage_writer.hpp"

namespace switchyard::app {
namespace {

namespace asio = boost::asio;

/// Applies pending migrations when Postgres is up. When it is down the gateway still starts (the hot path
/// needs no Postgres) and /ready says why; a migration that fails is fatal.
void migrate_at_start(const Config& config) {
  if (!config.database.migrate_on_start) return;
  try {
    auto report =
        postgres::migrate(postgres::connection_string(config.database.url, config.database.connect_timeout));
    for (const auto& name : report.applied) spdlog::info("applied migration {}", name);
  } catch (const pqxx::broken_connection& unreachable) {
    spdlog::warn("Postgres is unreachable at start, migrations not checked: {}", unreachable.what());
  }
}

/// The client fails at once while disconnected and bounds a command by redis.command_timeout.
asio::awaitable<void> ping_redis(redis::Client& redis) {
  // Built outside the co_await: GCC 12 miscompiles a braced list of string literals inside a coroutine.
  std::vector<std::string> ping(1, "PING");
  try {
    auto reply = co_await redis.command(std::move(ping));
    if (reply.type == redis::Reply::Type::error) throw ApiError::unavailable("redis", reply.text);
  } catch (const redis::Unavailable& down) {
    throw ApiError::unavailable("redis", down.what());
  }
}

std::vector<ops::DependencyCheck> readiness_checks(postgres::Pool& pool, redis::Client& redis) {
  return {
      {"postgres", [&pool](std::chrono::milliseconds deadline) { return pool.ping(deadline); }},
      {"redis", [&redis](std::chrono::milliseconds) { return ping_redis(redis); }},
  };
}

void add_store_gauges(Metrics& metrics, postgres::Pool& pool, redis::Client& redis) {
  metrics.add_gauge("switchyard_pg_pool_connections", "Postgres pool connections by state.", "state=\"open\"",
                    [&pool] { return pool.stats().open; });
  metrics.add_gauge("switchyard_pg_pool_connections", "Postgres pool connections by state.", "state=\"busy\"",
                    [&pool] { return pool.stats().busy; });
  metrics.add_gauge("switchyard_pg_pool_waiting", "Calls waiting for a Postgres connection.", "",
                    [&pool] { return pool.stats().waiting; });
  metrics.add_gauge("switchyard_redis_connected", "1 while the Redis connection is up.", "",
                    [&redis] { return redis.connected() ? 1.0 : 0.0; });
  metrics.add_gauge("switchyard_redis_reconnects", "Times the Redis connection was made again.", "",
                    [&redis] { return static_cast<double>(redis.reconnects()); });
}

}  // namespace

int serve(const Config& config) {
  configure_logging(config.log.level);
  std::error_code dir_error;
  std::filesystem::create_directories(config.data_dir, dir_error);
  if (dir_error) {
    throw ConfigError("SWITCHYARD_DATA_DIR: cannot create " + config.data_dir + ": " + dir_error.message());
  }
  migrate_at_start(config);

  http::EventLoops loops(static_cast<std::size_t>(config.server.threads));
  Metrics metrics;
  postgres::Pool pool(config.database);
  redis::Client redis(loops.executor(0), config.redis);
  redis.start();
  add_store_gauges(metrics, pool, redis);

  crypto::MasterKey master_key(config.master_key);
  auth::KeyCache keys(pool, master_key, {.ttl = config.auth.cache_ttl});
  jwt_orgs::Authenticator jwt(pool, master_key, {.ttl = config.auth.cache_ttl});
  auth::Catalog catalog(pool, master_key, {.ttl = config.auth.cache_ttl});
  auth::ChangeListener changes(
      postgres::connection_string(config.database.url, config.database.connect_timeout),
      {.changed =
           [&](const auth::Change& change) {
             keys.apply(change);
             jwt.apply(change);
             catalog.apply(change);
           },
       .resync =
           [&] {
             keys.resync();
             jwt.resync();
             catalog.resync();
           }});
  limits::Admitter admitter(redis, {.lease_ttl = config.limits.lease_ttl,
                                    .fail_open = config.limits.fail_open,
                                    .spend_loader = gateway::spend_from_usage(pool)});
  usage::UsageWriter usage_writer({.database_url = config.database.url, .data_dir = config.data_dir});
  usage::add_usage_metrics(metrics, usage_writer);
  http::UpstreamClient upstream;
  providers::OpenAiWireProvider openai_wire(upstream);
  providers::MockProvider mock;

  http::Router router;
  ops::add_operational_routes(router, metrics, readiness_checks(pool, redis), config.ready.check_timeout);
  gateway::add_gateway_routes(router, {keys, catalog, admitter, usage_writer, openai_wire, mock, &jwt},
                              {.default_max_tokens = config.gateway.default_max_tokens});
  identity::Authenticator authenticator(pool, keys, master_key);
  identity::LoginThrottle login_throttle(redis, config.auth);
  portal::add_portal_routes(router, {pool, authenticator, login_throttle, master_key},
                            {config.auth, config.tenancy, config.server.public_url});
  oidc::add_oidc_routes(router, {pool, master_key, upstream}, oidc::oidc_options(config));
  admin::add_admin_routes(router, {pool, authenticator, keys, master_key});
  reports::add_usage_routes(router, pool, authenticator);
  http::StaticFiles static_files(config.server.static_dir);
  router.set_fallback([&static_files](http::RequestContext& context) -> asio::awaitable<http::Response> {
    co_return static_files.serve(context.request);
  });

  http::Server server(loops, config.server, router, metrics, config.log.access_log);
  std::uint16_t port = 0;
  try {
    port = server.listen(config.listen);
  } catch (const std::system_error& error) {
    spdlog::critical("cannot listen on {}:{}: {}", config.listen.host, config.listen.port, error.what());
    redis.stop();
    return 1;
  }
  spdlog::info("switchyard listening on http://{}:{} with {} threads", config.listen.host, port,
               loops.size());

  asio::signal_set signals(loops.executor(0), SIGINT, SIGTERM);
  bool draining = false;
  std::function<void(const boost::system::error_code&, int)> on_signal =
      [&](const boost::system::error_code& error, int signal) {
        if (error) return;
        if (draining) {
          spdlog::warn("signal {} while draining: stopping now", signal);
          loops.stop();
          return;
        }
        draining = true;
        spdlog::info("signal {}: draining (up to {} s)", signal,
                     std::chrono::duration_cast<std::chrono::seconds>(config.server.drain_timeout).count());
        server.drain(config.server.drain_timeout, [&](bool clean) {
          spdlog::info(clean ? "drained" : "drain timed out");
          redis.stop();
          loops.stop();
        });
        signals.async_wait(on_signal);
      };
  signals.async_wait(on_signal);

  loops.run();
  usage_writer.stop();
  pool.shutdown();
  spdlog::info("switchyard stopped");
  return 0;
}

}  // namespace switchyard::app
