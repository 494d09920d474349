#include "switchyard/auth/catalog.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/this_coro.hpp>
#include <mutex>
#include <pqxx/pqxx>
#include <unordered_map>

#include "flight.hpp"
#include "switchyard/core/crypto.hpp"
#include "switchyard/store/postgres_pool.hpp"

namespace switchyard::auth {
namespace {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;
using SnapshotPtr = std::shared_ptr<const CatalogSnapshot>;

constexpr const char* kLoadProviders =
    "SELECT id, name, type, base_url, credentials, settings::text, enabled FROM providers";
constexpr const char* kLoadModels = R"(
  SELECT id, alias, provider_id, upstream_model, to_json(capabilities)::text, enabled,
         input_micros_per_mtok, output_micros_per_mtok, cached_input_micros_per_mtok, settings::text
  FROM models)";

/// An alias echoed in a message is cut short: it comes from the client and may be anything.
constexpr std::size_t kMaxShownAlias = 256;

std::shared_ptr<const ProviderInfo> provider_from(const pqxx::row& row, const crypto::MasterKey& master_key) {
  auto p = std::make_shared<ProviderInfo>();
  p->id = row[0].as<std::string>();
  p->name = row[1].as<std::string>();
  p->type = row[2].as<std::string>();
  p->base_url = row[3].as<std::string>();
  p->settings = nlohmann::json::parse(row[5].as<std::string>());
  p->enabled = row[6].as<bool>();
  if (auto timeout = p->settings.find("timeout_s"); timeout != p->settings.end() && timeout->is_number()) {
    p->timeout_s = timeout->get<double>();
  }
  if (auto verify = p->settings.find("verify_tls"); verify != p->settings.end() && verify->is_boolean()) {
    p->verify_tls = verify->get<bool>();
  }
  if (!row[4].is_null()) {
    // The seed binds each ciphertext to its provider's name, so it cannot be moved to another row.
    auto plain = master_key.decrypt(pqxx::binarystring(row[4]).str(), "provider:" + p->name);
    auto parsed = plain ? nlohmann::json::parse(*plain, nullptr, false) : nlohmann::json();
    if (parsed.is_object()) {
      p->credentials = std::move(parsed);
    } else {
      spdlog::warn("auth: the credentials of provider {} do not decrypt under this master key", p->name);
    }
  }
  return p;
}

CatalogSnapshot load_catalog(pqxx::work& tx, const crypto::MasterKey& master_key) {
  std::unordered_map<std::string, std::shared_ptr<const ProviderInfo>> providers;
  for (const auto& row : tx.exec(kLoadProviders)) {
    auto provider = provider_from(row, master_key);
    providers.emplace(provider->id, std::move(provider));
  }
  CatalogSnapshot snapshot;
  for (const auto& row : tx.exec(kLoadModels)) {
    auto m = std::make_shared<ModelInfo>();
    m->id = row[0].as<std::string>();
    m->alias = row[1].as<std::string>();
    m->provider = providers.at(row[2].as<std::string>());
    m->upstream_model = row[3].as<std::string>();
    m->capabilities = nlohmann::json::parse(row[4].as<std::string>()).get<std::vector<std::string>>();
    m->enabled = row[5].as<bool>();
    m->prices.input_per_mtok = row[6].as<Micros>();
    m->prices.output_per_mtok = row[7].as<Micros>();
    m->prices.cached_input_per_mtok = row[8].is_null() ? m->prices.input_per_mtok : row[8].as<Micros>();
    m->settings = nlohmann::json::parse(row[9].as<std::string>());
    snapshot.models.emplace(m->alias, std::move(m));
  }
  return snapshot;
}

}  // namespace

bool ModelInfo::supports(std::string_view capability) const {
  return std::find(capabilities.begin(), capabilities.end(), capability) != capabilities.end();
}

ApiError model_not_found(std::string_view alias) {
  std::string shown(alias.substr(0, kMaxShownAlias));
  return {404, "invalid_request_error", "model_not_found",
          "The model `" + shown + "` does not exist or you do not have access to it."};
}

std::shared_ptr<const ModelInfo> resolve_model(const CatalogSnapshot& snapshot, const Principal& principal,
                                               std::string_view alias, std::string_view capability) {
  auto it = snapshot.models.find(alias);
  if (it == snapshot.models.end() || !it->second->usable() || !principal.may_use(alias)) {
    throw model_not_found(alias);
  }
  if (!capability.empty() && !it->second->supports(capability)) {
    throw ApiError::invalid_request(
        "The model `" + it->second->alias + "` does not support " + std::string(capability) + ".", "model");
  }
  return it->second;
}

std::vector<std::shared_ptr<const ModelInfo>> visible_models(const CatalogSnapshot& snapshot,
                                                             const Principal& principal) {
  std::vector<std::shared_ptr<const ModelInfo>> visible;
  for (const auto& [alias, model] : snapshot.models) {
    if (model->usable() && principal.may_use(alias)) visible.push_back(model);
  }
  return visible;
}

struct Catalog::State {
  State(postgres::Pool& p, const crypto::MasterKey& k, CatalogOptions o)
      : pool(p), master_key(k), options(o) {}

  using SnapshotFlight = detail::Flight<SnapshotPtr>;

  postgres::Pool& pool;
  const crypto::MasterKey& master_key;
  const CatalogOptions options;

  mutable std::mutex mutex;
  SnapshotPtr current;
  Clock::time_point fresh_until;
  /// A change was notified since `current` was read: the next call reloads before it answers.
  bool invalidated = false;
  Clock::time_point retry_at;  ///< no reload attempt before this, after one failed
  std::shared_ptr<SnapshotFlight> flight;
  std::uint64_t generation = 0;  ///< bumped by every change notification
  std::uint64_t loads = 0;

  /// A fresh snapshot from Postgres, joining a load already under way.
  static asio::awaitable<SnapshotPtr> fetch(std::shared_ptr<State> self) {
    std::shared_ptr<SnapshotFlight> flight;
    bool leader = false;
    std::uint64_t started = 0;
    {
      std::lock_guard lock(self->mutex);
      if (!self->flight) {
        self->flight = std::make_shared<SnapshotFlight>();
        leader = true;
        started = self->generation;
        ++self->loads;
      }
      flight = self->flight;
    }
    if (!leader) co_return co_await flight->wait();

    auto finish = [&](std::exception_ptr error, const SnapshotPtr& snapshot) {
      {
        std::lock_guard lock(self->mutex);
        if (self->flight == flight) self->flight.reset();
        auto now = Clock::now();
        if (error) {
          self->retry_at = now + self->options.retry_interval;
        } else {
          self->current = snapshot;
          self->fresh_until = now + self->options.ttl;
          // A change notified during the load may have missed it: reload once more on the next call.
          self->invalidated = started != self->generation;
        }
      }
      flight->complete(error, snapshot);
    };
    detail::UnlessDismissed abandoned([&] {
      finish(std::make_exception_ptr(ApiError::unavailable(
                 "The model catalogue could not be loaded; try again.", "auth: catalogue load abandoned")),
             nullptr);
    });
    SnapshotPtr snapshot;
    try {
      const auto& master_key = self->master_key;
      snapshot = std::make_shared<const CatalogSnapshot>(co_await self->pool.transact(
          [&master_key](pqxx::work& tx) { return load_catalog(tx, master_key); }));
    } catch (...) {
      abandoned.dismiss();
      finish(std::current_exception(), nullptr);
      throw;
    }
    abandoned.dismiss();
    finish(nullptr, snapshot);
    co_return snapshot;
  }

  static asio::awaitable<SnapshotPtr> get(std::shared_ptr<State> self) {
    auto now = Clock::now();
    SnapshotPtr cached;
    bool reload_behind = false;
    bool reload_now = false;
    {
      std::lock_guard lock(self->mutex);
      cached = self->current;
      if (cached && now >= self->retry_at && !self->flight) {
        reload_now = self->invalidated;
        reload_behind = !reload_now && now >= self->fresh_until;
        if (reload_behind) self->retry_at = now + self->options.retry_interval;
      }
    }
    if (!cached) co_return co_await fetch(self);
    if (reload_behind) {
      asio::co_spawn(co_await asio::this_coro::executor, fetch(self),
                     [](const std::exception_ptr& error, const SnapshotPtr&) {
                       if (error) spdlog::debug("auth: the model catalogue could not be reloaded yet");
                     });
    }
    if (reload_now) {
      // Postgres just told us it changed, so it is most likely up: wait for the reload, but fall back to
      // the last snapshot rather than fail the request when it is not.
      try {
        co_return co_await fetch(self);
      } catch (const ApiError& e) {
        spdlog::warn("auth: serving the last model catalogue, reloading it failed: {}", e.detail());
      }
    }
    co_return cached;
  }
};

Catalog::Catalog(postgres::Pool& pool, const crypto::MasterKey& master_key, CatalogOptions options)
    : state_(std::make_shared<State>(pool, master_key, options)) {}

Catalog::~Catalog() = default;

asio::awaitable<std::shared_ptr<const ModelInfo>> Catalog::resolve(const Principal& principal,
                                                                   std::string_view alias,
                                                                   std::string_view capability) {
  auto current = co_await State::get(state_);
  co_return resolve_model(*current, principal, alias, capability);
}

asio::awaitable<std::vector<std::shared_ptr<const ModelInfo>>> Catalog::models_for(
    const Principal& principal) {
  auto current = co_await State::get(state_);
  co_return visible_models(*current, principal);
}

asio::awaitable<std::shared_ptr<const CatalogSnapshot>> Catalog::snapshot() { return State::get(state_); }

void Catalog::apply(const Change& change) {
  if (change.kind == Change::Kind::catalog) resync();
}

void Catalog::resync() {
  std::lock_guard lock(state_->mutex);
  ++state_->generation;
  state_->invalidated = true;
  state_->retry_at = Clock::time_point::min();
}

std::uint64_t Catalog::loads() const {
  std::lock_guard lock(state_->mutex);
  return state_->loads;
}

}  // namespace switchyard::auth
