#include "switchyard/auth/changes.hpp"

#include <poll.h>
#include <spdlog/spdlog.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <pqxx/pqxx>
#include <random>
#include <stdexcept>
#include <system_error>
#include <thread>

#include "switchyard/core/crypto.hpp"
#include "switchyard/core/threads.hpp"
#include "switchyard/store/postgres_pool.hpp"

namespace switchyard::auth {
namespace {

constexpr std::size_t kKeyHashSize = 32;

/// The raw bytes of lowercase or uppercase hex text; nullopt for anything else.
std::optional<std::string> unhex(std::string_view text) {
  if (text.size() % 2 != 0) return std::nullopt;
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::string raw;
  raw.reserve(text.size() / 2);
  for (std::size_t i = 0; i < text.size(); i += 2) {
    int high = nibble(text[i]);
    int low = nibble(text[i + 1]);
    if (high < 0 || low < 0) return std::nullopt;
    raw.push_back(static_cast<char>(high * 16 + low));
  }
  return raw;
}

}  // namespace

std::optional<Change> parse_change(std::string_view payload) {
  if (payload == "catalog") return Change{Change::Kind::catalog, {}};
  auto colon = payload.find(':');
  if (colon == std::string_view::npos || colon + 1 == payload.size()) return std::nullopt;
  auto kind = payload.substr(0, colon);
  auto subject = payload.substr(colon + 1);
  if (kind == "key") {
    auto hash = unhex(subject);
    if (!hash || hash->size() != kKeyHashSize) return std::nullopt;
    return Change{Change::Kind::api_key, std::move(*hash)};
  }
  if (kind == "tenant") return Change{Change::Kind::tenant, std::string(subject)};
  if (kind == "user") return Change{Change::Kind::user, std::string(subject)};
  return std::nullopt;
}

struct ChangeListener::Impl {
  Impl(std::string url, ChangeHandlers h, ChangeListenerOptions o)
      : conninfo(postgres::connection_string(url, o.connect_timeout)),
        handlers(std::move(h)),
        options(o),
        wake_fd(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {
    if (wake_fd < 0) throw std::system_error(errno, std::generic_category(), "eventfd");
  }
  ~Impl() { ::close(wake_fd); }
  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;

  class Receiver : public pqxx::notification_receiver {
   public:
    Receiver(pqxx::connection_base& connection, Impl& impl)
        : pqxx::notification_receiver(connection, std::string(kChangeChannel)), impl_(impl) {}
    void operator()(const std::string& payload, int /*backend_pid*/) override {
      if (auto change = parse_change(payload)) impl_.handlers.changed(*change);
    }

   private:
    Impl& impl_;
  };

  void run() {
    run_as_background_thread();
    std::minstd_rand jitter(std::random_device{}());
    while (!stopping) {
      try {
        listen();
      } catch (const std::exception& e) {
        // The connection string may hold a password, and pqxx's messages quote libpq's, which do not.
        spdlog::warn("auth: change listener lost Postgres, cached keys are served as they are: {}", e.what());
      }
      connected = false;
      if (stopping) break;
      // 100 ms doubling up to max_backoff, each scaled into [0.5, 1] so that replicas do not reconnect in
      // step.
      auto exponent = std::min(failures++, 10u);
      auto delay = std::min(options.max_backoff, std::chrono::milliseconds(100) * (1 << exponent));
      delay = std::chrono::milliseconds(static_cast<long>(
          static_cast<double>(delay.count()) * std::uniform_real_distribution<double>(0.5, 1.0)(jitter)));
      wait_for_wake(static_cast<int>(delay.count()));
    }
  }

  /// One connection's life: LISTEN, resync, then deliver notifications until it breaks or we stop.
  void listen() {
    pqxx::connection connection{conninfo};
    Receiver receiver(connection, *this);
    connected = true;
    failures = 0;  // a later outage starts again from a short pause
    handlers.resync();
    while (!stopping) {
      pollfd fds[2] = {{connection.sock(), POLLIN, 0}, {wake_fd, POLLIN, 0}};
      if (::poll(fds, 2, -1) < 0) {
        if (errno == EINTR) continue;
        throw std::system_error(errno, std::generic_category(), "poll");
      }
      if (fds[1].revents != 0) break;
      connection.get_notifs();
      if (!connection.is_open()) throw pqxx::broken_connection("the listening connection closed");
    }
  }

  void wait_for_wake(int timeout_ms) {
    pollfd fd{wake_fd, POLLIN, 0};
    while (::poll(&fd, 1, timeout_ms) < 0 && errno == EINTR) {
    }
  }

  void stop() {
    stopping = true;
    std::uint64_t one = 1;
    // A full eventfd counter still wakes the poll, so a failed write changes nothing.
    [[maybe_unused]] auto written = ::write(wake_fd, &one, sizeof one);
  }

  const std::string conninfo;
  const ChangeHandlers handlers;
  const ChangeListenerOptions options;
  const int wake_fd;
  std::atomic<bool> stopping{false};
  std::atomic<bool> connected{false};
  unsigned failures = 0;  ///< connection attempts failed in a row; only the listener thread touches it
  std::thread thread;
};

ChangeListener::ChangeListener(std::string database_url, ChangeHandlers handlers,
                               ChangeListenerOptions options)
    : impl_(std::make_unique<Impl>(std::move(database_url), std::move(handlers), options)) {
  impl_->thread = std::thread([impl = impl_.get()] { impl->run(); });
}

ChangeListener::~ChangeListener() {
  impl_->stop();
  impl_->thread.join();
}

bool ChangeListener::connected() const { return impl_->connected; }

}  // namespace switchyard::auth
