#pragma once

#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "switchyard/auth/changes.hpp"
#include "switchyard/auth/principal.hpp"
#include "switchyard/core/error.hpp"
#include "switchyard/core/tenancy.hpp"

namespace switchyard::crypto {
class MasterKey;
}
namespace switchyard::postgres {
class Pool;
}

namespace switchyard::auth {

/// A provider as the catalogue loaded it. Immutable and shared by the models it serves.
struct ProviderInfo {
  std::string id;
  std::string name;
  std::string type;      ///< openai | openai_compatible | azure | anthropic | ... | mock
  std::string base_url;  ///< the API root, as an SDK's base_url
  nlohmann::json settings = nlohmann::json::object();  ///< the non-secret settings, as stored
  /// The decrypted secret fields (e.g. api_key). Never log them; empty when the stored ciphertext does
  /// not decrypt under this master key.
  nlohmann::json credentials = nlohmann::json::object();
  double timeout_s = 600;  ///< settings.timeout_s: deadline for the first byte and between stream chunks
  bool verify_tls = true;  ///< settings.verify_tls
  bool enabled = true;
};

/// Integer micro-dollars per million tokens.
struct ModelPrices {
  Micros input_per_mtok = 0;
  Micros output_per_mtok = 0;
  Micros cached_input_per_mtok = 0;  ///< the input price when the model sets none of its own
};

/// An alias clients send as `model`, and where it goes.
struct ModelInfo {
  std::string id;
  std::string alias;
  std::shared_ptr<const ProviderInfo> provider;
  std::string upstream_model;
  std::vector<std::string> capabilities;  ///< chat | completions | embeddings | images | ...
  bool enabled = true;
  ModelPrices prices;
  nlohmann::json settings = nlohmann::json::object();

  bool supports(std::string_view capability) const;
  /// Enabled, and so is its provider.
  bool usable() const { return enabled && provider && provider->enabled; }
};

/// Every model and provider at one moment, decrypted once. Immutable and shared.
struct CatalogSnapshot {
  std::map<std::string, std::shared_ptr<const ModelInfo>, std::less<>> models;  ///< by alias
};

/// 404 model_not_found, worded the same whether the alias is unknown, disabled or not granted, so that a
/// tenant cannot learn which aliases exist.
ApiError model_not_found(std::string_view alias);

/// The model `alias` names for `principal`. Throws model_not_found() when it is unknown, disabled (or
/// its provider is) or not granted to the tenant, and a 400 invalid_request_error with param `model`
/// when it lacks `capability` (an empty capability asks for none). Pure.
std::shared_ptr<const ModelInfo> resolve_model(const CatalogSnapshot& snapshot, const Principal& principal,
                                               std::string_view alias, std::string_view capability);

/// The models `principal` may use, by alias. Pure.
std::vector<std::shared_ptr<const ModelInfo>> visible_models(const CatalogSnapshot& snapshot,
                                                             const Principal& principal);

struct CatalogOptions {
  /// A backstop behind the change notifications: a snapshot this old is reloaded in the background and
  /// served meanwhile (or for as long as Postgres is down).
  std::chrono::milliseconds ttl{60'000};
  /// The pause before a failed reload is tried again; the last snapshot is served meanwhile.
  std::chrono::milliseconds retry_interval{1'000};
};

/// Alias → model → provider, from an immutable snapshot of Postgres held in memory. The first call loads
/// it; a change notification makes the next call reload it (concurrent calls share one load), and while
/// Postgres cannot be reached the last snapshot is served.
///
/// Thread-safe. The pool and the master key must outlive the catalogue and every io_context running its
/// calls. The string arguments must live until the call completes (co_await it at once).
class Catalog {
 public:
  Catalog(postgres::Pool& pool, const crypto::MasterKey& master_key, CatalogOptions options = {});
  ~Catalog();
  Catalog(const Catalog&) = delete;
  Catalog& operator=(const Catalog&) = delete;

  /// resolve_model() on the current snapshot. ApiError::unavailable (503) when there has never been one
  /// and Postgres cannot be reached.
  boost::asio::awaitable<std::shared_ptr<const ModelInfo>> resolve(const Principal& principal,
                                                                   std::string_view alias,
                                                                   std::string_view capability);
  /// visible_models() on the current snapshot.
  boost::asio::awaitable<std::vector<std::shared_ptr<const ModelInfo>>> models_for(
      const Principal& principal);
  /// The current snapshot, loading it first when needed.
  boost::asio::awaitable<std::shared_ptr<const CatalogSnapshot>> snapshot();

  /// A catalogue change (models, providers) makes the snapshot stale; other changes are not its business.
  void apply(const Change& change);
  /// Marks the snapshot stale: changes may have been missed.
  void resync();

  /// Queries sent to Postgres so far.
  std::uint64_t loads() const;

 private:
  struct State;
  std::shared_ptr<State> state_;
};

}  // namespace switchyard::auth
