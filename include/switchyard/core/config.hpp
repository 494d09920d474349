#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "switchyard/core/tenancy.hpp"

namespace switchyard {

struct ListenAddress {
  std::string host = "127.0.0.1";
  std::uint16_t port = 8090;
};

struct ServerConfig {
  int threads = 0;  ///< 0: one per core
  std::size_t max_body_bytes = 32u << 20;
  std::size_t max_header_bytes = 16u << 10;
  std::chrono::milliseconds header_timeout{10'000};
  std::chrono::milliseconds body_timeout{60'000};
  std::chrono::milliseconds idle_timeout{75'000};
  std::chrono::milliseconds write_timeout{60'000};
  std::size_t max_connections = 10'000;
  std::chrono::milliseconds drain_timeout{30'000};
  std::string static_dir = "web/dist";
  /// The address users reach the gateway at (https://gw.example.com); empty: http://<listen>. Decides the
  /// OIDC redirect and whether cookies are Secure.
  std::string public_url;
};

struct DatabaseConfig {
  std::string url;
  int pool_size = 8;
  int max_waiting = 256;
  std::chrono::milliseconds acquire_timeout{2'000};
  std::chrono::milliseconds statement_timeout{5'000};
  std::chrono::seconds connect_timeout{3};
  bool migrate_on_start = true;
};

struct RedisEndpoint {
  std::string host;
  std::uint16_t port = 6379;
  std::string password;
  int db = 0;
};

struct RedisConfig {
  std::string url;
  RedisEndpoint endpoint;  ///< parsed from url
  std::chrono::milliseconds command_timeout{1'000};
  std::chrono::milliseconds connect_timeout{1'000};
  std::chrono::milliseconds reconnect_max_backoff{5'000};
};

enum class LogLevel { debug, info, warning, error };

struct LogConfig {
  LogLevel level = LogLevel::info;
  bool access_log = true;
};

struct LimitsSettings {
  bool fail_open = true;                         ///< Redis unreachable: admit under a per-process limiter
  std::chrono::milliseconds lease_ttl{120'000};  ///< a parallel slot's lease without renewal
};

struct GatewaySettings {
  std::int64_t default_max_tokens = 4096;  ///< reserved when a request names no max_tokens
};

struct AuthSettings {
  std::chrono::milliseconds cache_ttl{60'000};  ///< backstop behind change notifications
  bool invite_required = true;                  ///< POST /v1/users/register needs an invite_token
  std::chrono::seconds session_ttl{12 * 3600};  ///< a portal session or login token lives this long
  int login_failures_per_account = 10;          ///< failed logins per account per 15 minutes
  int login_failures_per_ip = 50;               ///< failed logins per client address per 15 minutes
};

/// What a personal tenant gets when it is created: its limits, and the models it may use.
struct TenancySettings {
  Limits personal_limits;
  std::vector<std::string> personal_models;  ///< empty: every enabled model
};

/// OpenID Connect sign-in; off while issuer is empty.
struct OidcSettings {
  std::string issuer;
  std::string client_id;
  std::string client_secret;
  std::string redirect_uri;  ///< empty: public_url + /auth/oidc/callback
  std::string scopes = "openid email profile";
  std::string role_claim = "groups";       ///< claim holding the user's roles (string or array)
  std::vector<std::string> allowed_roles;  ///< empty: any role; else one of these is required
  std::vector<std::string> admin_roles;    ///< these make the user a platform administrator
  bool enabled() const { return !issuer.empty(); }
};

struct ReadyConfig {
  std::chrono::milliseconds check_timeout{1'000};
};

/// The whole configuration, immutable once loaded.
struct Config {
  ListenAddress listen;
  std::string master_key;  ///< 32 raw bytes, decoded from base64; never logged
  std::string data_dir = "var";
  ServerConfig server;
  DatabaseConfig database;
  RedisConfig redis;
  LogConfig log;
  ReadyConfig ready;
  LimitsSettings limits;
  GatewaySettings gateway;
  AuthSettings auth;
  TenancySettings tenancy;
  OidcSettings oidc;
};

/// What a command needs set before it may start.
struct ConfigNeeds {
  bool database = false;
  bool redis = false;
  bool master_key = false;
};

using Environment = std::map<std::string, std::string>;

/// Defaults, then the YAML file (when given), then `SWITCHYARD_*` variables from `env`.
/// Throws ConfigError naming the one bad setting (its variable's name when set through `env`).
Config load_config(const std::optional<std::string>& file, const Environment& env, ConfigNeeds needs);

/// The process environment as a map.
Environment process_environment();

/// One documented setting: its YAML path, its environment variable and its default, as text.
struct SettingInfo {
  std::string path;
  std::string env_var;
  std::string default_value;
  std::string description;
};

/// Every setting `load_config` knows, in documentation order.
std::vector<SettingInfo> known_settings();

/// Parsers of the two structured settings; throw std::invalid_argument saying what is wrong.
RedisEndpoint parse_redis_url(const std::string& url);
ListenAddress parse_listen_address(const std::string& text);

}  // namespace switchyard
