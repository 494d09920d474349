#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

/// How every process learns that Postgres changed what its caches hold. Migration 0002's triggers send a
/// NOTIFY on kChangeChannel for each changed row; a ChangeListener per process receives them.
namespace switchyard::auth {

inline constexpr std::string_view kChangeChannel = "switchyard_changes";

/// One notification. Payloads: `key:<hex of key_hash>`, `tenant:<uuid>`, `user:<uuid>`, `catalog`.
struct Change {
  enum class Kind { api_key, tenant, user, catalog };
  Kind kind = Kind::catalog;
  /// The raw 32-byte key hash, the tenant's id or the user's id; empty for catalog.
  std::string subject;
};

/// The change a payload describes; nullopt for a payload this version does not know (a newer process's).
/// Pure.
std::optional<Change> parse_change(std::string_view payload);

/// What a listener tells its caches. Both are called on the listener's own thread.
struct ChangeHandlers {
  std::function<void(const Change&)> changed;
  /// After every (re)connection: notifications sent while the listener was not listening are lost, so
  /// whatever was cached before may be out of date.
  std::function<void()> resync;
};

struct ChangeListenerOptions {
  std::chrono::seconds connect_timeout{3};
  std::chrono::milliseconds max_backoff{2'000};
};

/// A thread with a Postgres connection of its own that LISTENs on kChangeChannel and passes every
/// notification to the handlers. When the connection fails or breaks it reconnects with capped
/// exponential backoff, for as long as it lives. Construction starts the thread; destruction stops it
/// promptly (no wait for a timeout) and joins it.
class ChangeListener {
 public:
  ChangeListener(std::string database_url, ChangeHandlers handlers, ChangeListenerOptions options = {});
  ~ChangeListener();
  ChangeListener(const ChangeListener&) = delete;
  ChangeListener& operator=(const ChangeListener&) = delete;

  /// Whether it is listening right now.
  bool connected() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace switchyard::auth
