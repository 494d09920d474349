#include "switchyard/core/config.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <boost/url/parse.hpp>
#include <cctype>
#include <charconv>
#include <functional>
#include <limits>
#include <stdexcept>

#include "switchyard/core/crypto.hpp"
#include "switchyard/core/error.hpp"
#include "switchyard/core/money.hpp"

extern char** environ;

namespace switchyard {
namespace {

using Apply = std::function<void(Config&, const std::string& value)>;

/// One setting: where it lives in YAML, its default as documented, and how its text is applied.
struct Setting {
  std::string path;
  std::string default_value;
  std::string description;
  Apply apply;
};

std::string env_var_for(const std::string& path) {
  std::string name = "SWITCHYARD_";
  for (char c : path) name += c == '.' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return name;
}

long long parse_integer(const std::string& text, long long min, long long max) {
  long long value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size())
    throw std::invalid_argument{"'" + text + "' is not an integer"};
  if (value < min || value > max) {
    throw std::invalid_argument{"'" + text + "' is out of range " + std::to_string(min) + ".." +
                                std::to_string(max)};
  }
  return value;
}

bool parse_bool(const std::string& text) {
  std::string lower = text;
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
  if (lower == "true" || lower == "yes" || lower == "on" || lower == "1") return true;
  if (lower == "false" || lower == "no" || lower == "off" || lower == "0") return false;
  throw std::invalid_argument{"'" + text + "' is not a boolean (true or false)"};
}

LogLevel parse_log_level(const std::string& text) {
  std::string lower = text;
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
  if (lower == "debug") return LogLevel::debug;
  if (lower == "info") return LogLevel::info;
  if (lower == "warning" || lower == "warn") return LogLevel::warning;
  if (lower == "error") return LogLevel::error;
  throw std::invalid_argument{"'" + text + "' is not a log level (debug, info, warning, error)"};
}

template <class Member>
Setting integer(std::string path, long long fallback, long long min, long long max, std::string description,
                Member member) {
  return {std::move(path), std::to_string(fallback), std::move(description),
          [member, min, max](Config& c, const std::string& v) {
            member(c) = static_cast<std::remove_reference_t<decltype(member(c))>>(parse_integer(v, min, max));
          }};
}

template <class Member>
Setting duration(std::string path, long long fallback, long long min, long long max, std::string description,
                 Member member) {
  return {std::move(path), std::to_string(fallback), std::move(description),
          [member, min, max](Config& c, const std::string& v) {
            using Duration = std::remove_reference_t<decltype(member(c))>;
            member(c) = Duration(parse_integer(v, min, max));
          }};
}

template <class Member>
Setting boolean(std::string path, bool fallback, std::string description, Member member) {
  return {std::move(path), fallback ? "true" : "false", std::move(description),
          [member](Config& c, const std::string& v) { member(c) = parse_bool(v); }};
}

template <class Member>
Setting text(std::string path, std::string fallback, std::string description, Member member) {
  return {std::move(path), std::move(fallback), std::move(description),
          [member](Config& c, const std::string& v) { member(c) = v; }};
}

/// A comma-separated list; blanks around items are dropped, and so are empty items.
std::vector<std::string> parse_list(const std::string& text) {
  std::vector<std::string> items;
  std::size_t start = 0;
  while (start <= text.size()) {
    auto comma = text.find(',', start);
    auto item = text.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    auto first = item.find_first_not_of(" \t");
    if (first != std::string::npos)
      items.push_back(item.substr(first, item.find_last_not_of(" \t") - first + 1));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return items;
}

template <class Member>
Setting list(std::string path, std::string description, Member member) {
  return {std::move(path), "", std::move(description),
          [member](Config& c, const std::string& v) { member(c) = parse_list(v); }};
}

/// An optional cap: empty is unlimited.
template <class Member>
Setting cap(std::string path, long long max, std::string description, Member member) {
  return {std::move(path), "", std::move(description), [member, max](Config& c, const std::string& v) {
            if (v.empty()) {
              member(c).reset();
            } else {
              member(c) = parse_integer(v, 0, max);
            }
          }};
}

constexpr long long kMaxMillis = 24LL * 3600 * 1000;

const std::vector<Setting>& settings() {
  static const std::vector<Setting> table = {
      {"listen", "127.0.0.1:8090", "address:port the HTTP server listens on",
       [](Config& c, const std::string& v) { c.listen = parse_listen_address(v); }},
      {"master_key", "",
       "base64 of 32 random bytes; encrypts provider credentials and keys API-key hashes (required)",
       [](Config& c, const std::string& v) {
         auto raw = crypto::base64_decode(v);
         if (!raw || raw->size() != 32) throw std::invalid_argument{"must be the base64 of exactly 32 bytes"};
         c.master_key = *raw;
       }},
      text("data_dir", "var", "local state of this process: the usage spool and other files",
           [](Config& c) -> std::string& { return c.data_dir; }),
      integer("server.threads", 0, 0, 256, "I/O threads; 0 means one per core",
              [](Config& c) -> int& { return c.server.threads; }),
      {"server.max_body_mb", "32", "largest request body in MiB; larger bodies get 413",
       [](Config& c, const std::string& v) {
         c.server.max_body_bytes = static_cast<std::size_t>(parse_integer(v, 1, 4096)) << 20;
       }},
      {"server.max_header_kb", "16", "largest request header block in KiB; larger get 431",
       [](Config& c, const std::string& v) {
         c.server.max_header_bytes = static_cast<std::size_t>(parse_integer(v, 1, 1024)) << 10;
       }},
      duration("server.header_timeout_ms", 10'000, 100, kMaxMillis,
               "time a client has to send its whole header once it started; a trickling client is cut",
               [](Config& c) -> std::chrono::milliseconds& { return c.server.header_timeout; }),
      duration("server.body_timeout_ms", 60'000, 100, kMaxMillis, "time a client has to send its whole body",
               [](Config& c) -> std::chrono::milliseconds& { return c.server.body_timeout; }),
      duration("server.idle_timeout_ms", 75'000, 100, kMaxMillis,
               "an idle keep-alive connection is closed after this long",
               [](Config& c) -> std::chrono::milliseconds& { return c.server.idle_timeout; }),
      duration("server.write_timeout_ms", 60'000, 100, kMaxMillis,
               "a client that does not read a response for this long is cut",
               [](Config& c) -> std::chrono::milliseconds& { return c.server.write_timeout; }),
      integer("server.max_connections", 10'000, 1, 1'000'000,
              "open client connections at once; more are answered 503 and closed",
              [](Config& c) -> std::size_t& { return c.server.max_connections; }),
      {"server.drain_timeout_s", "30",
       "on SIGTERM, how long in-flight requests and streams may take to finish",
       [](Config& c, const std::string& v) {
         c.server.drain_timeout = std::chrono::seconds(parse_integer(v, 0, 3600));
       }},
      text("server.static_dir", "web/dist", "directory of the portal SPA served at /",
           [](Config& c) -> std::string& { return c.server.static_dir; }),
      {"server.public_url", "",
       "the URL users reach the gateway at; decides the OIDC redirect and Secure cookies (empty: "
       "http://<listen>)",
       [](Config& c, const std::string& v) {
         if (!v.empty() && v.rfind("http://", 0) != 0 && v.rfind("https://", 0) != 0) {
           throw std::invalid_argument{"must be an http:// or https:// URL"};
         }
         c.server.public_url = v.empty() || v.back() != '/' ? v : v.substr(0, v.size() - 1);
       }},
      {"database.url", "", "postgresql://user:pass@host:port/db (required)",
       [](Config& c, const std::string& v) {
         if (v.rfind("postgresql://", 0) != 0 && v.rfind("postgres://", 0) != 0) {
           throw std::invalid_argument{"must be a postgresql:// URL"};
         }
         c.database.url = v;
       }},
      integer("database.pool_size", 8, 1, 512, "Postgres connections, each served by its own worker thread",
              [](Config& c) -> int& { return c.database.pool_size; }),
      integer("database.max_waiting", 256, 0, 1'000'000,
              "queries that may wait for a connection; beyond this they fail at once with 503",
              [](Config& c) -> int& { return c.database.max_waiting; }),
      duration("database.acquire_timeout_ms", 2'000, 1, kMaxMillis,
               "longest wait for a free connection before 503",
               [](Config& c) -> std::chrono::milliseconds& { return c.database.acquire_timeout; }),
      duration("database.statement_timeout_ms", 5'000, 1, kMaxMillis,
               "per-query deadline (statement_timeout)",
               [](Config& c) -> std::chrono::milliseconds& { return c.database.statement_timeout; }),
      {"database.connect_timeout_s", "3", "deadline for opening a Postgres connection",
       [](Config& c, const std::string& v) {
         c.database.connect_timeout = std::chrono::seconds(parse_integer(v, 1, 600));
       }},
      boolean("database.migrate_on_start", true,
              "serve applies pending migrations at start when Postgres is up",
              [](Config& c) -> bool& { return c.database.migrate_on_start; }),
      {"redis.url", "", "redis://[:password@]host:port[/db] (required)",
       [](Config& c, const std::string& v) {
         c.redis.endpoint = parse_redis_url(v);
         c.redis.url = v;
       }},
      duration("redis.command_timeout_ms", 1'000, 1, kMaxMillis, "per-command deadline",
               [](Config& c) -> std::chrono::milliseconds& { return c.redis.command_timeout; }),
      duration("redis.connect_timeout_ms", 1'000, 1, kMaxMillis, "deadline for connecting to Redis",
               [](Config& c) -> std::chrono::milliseconds& { return c.redis.connect_timeout; }),
      duration("redis.reconnect_max_backoff_ms", 5'000, 10, kMaxMillis,
               "longest pause between reconnect attempts (the backoff doubles up to this)",
               [](Config& c) -> std::chrono::milliseconds& { return c.redis.reconnect_max_backoff; }),
      {"log.level", "info",
       "debug, info, warning or error; at debug, request and response details are logged with secrets "
       "redacted",
       [](Config& c, const std::string& v) { c.log.level = parse_log_level(v); }},
      boolean("log.access_log", true,
              "one line per request: method, path, status, bytes, duration, request id",
              [](Config& c) -> bool& { return c.log.access_log; }),
      boolean("limits.fail_open", true,
              "Redis unreachable: admit under a per-process limiter (true) or refuse with 503 (false)",
              [](Config& c) -> bool& { return c.limits.fail_open; }),
      {"limits.lease_ttl_s", "120", "a parallel slot is freed this long after a process died holding it",
       [](Config& c, const std::string& v) {
         c.limits.lease_ttl = std::chrono::seconds(parse_integer(v, 5, 86400));
       }},
      integer("gateway.default_max_tokens", 4096, 1, 10'000'000,
              "completion tokens reserved for TPM and budget when a request names no max_tokens",
              [](Config& c) -> std::int64_t& { return c.gateway.default_max_tokens; }),
      {"auth.cache_ttl_s", "60",
       "API keys and the model catalogue are reloaded this often behind change notifications",
       [](Config& c, const std::string& v) {
         c.auth.cache_ttl = std::chrono::seconds(parse_integer(v, 1, 86400));
       }},
      boolean("auth.invite_required", true, "POST /v1/users/register needs an invite_token",
              [](Config& c) -> bool& { return c.auth.invite_required; }),
      {"auth.session_ttl_h", "12", "a portal session or login token expires this long after sign-in",
       [](Config& c, const std::string& v) {
         c.auth.session_ttl = std::chrono::hours(parse_integer(v, 1, 24 * 365));
       }},
      integer("auth.login_failures_per_account", 10, 1, 1'000'000,
              "failed logins of one account per 15 minutes before further attempts get 429",
              [](Config& c) -> int& { return c.auth.login_failures_per_account; }),
      integer("auth.login_failures_per_ip", 50, 1, 1'000'000,
              "failed logins from one client address per 15 minutes before further attempts get 429",
              [](Config& c) -> int& { return c.auth.login_failures_per_ip; }),
      {"tenancy.personal_budget_usd", "", "budget of a new personal tenant in USD (empty: unlimited)",
       [](Config& c, const std::string& v) {
         if (v.empty()) {
           c.tenancy.personal_limits.budget_micros.reset();
           return;
         }
         auto micros = parse_usd(v);
         if (!micros) throw std::invalid_argument{"'" + v + "' is not an amount in USD"};
         c.tenancy.personal_limits.budget_micros = *micros;
       }},
      cap("tenancy.personal_rpm", 1'000'000'000,
          "requests per minute of a new personal tenant (empty: unlimited)",
          [](Config& c) -> std::optional<std::int64_t>& { return c.tenancy.personal_limits.rpm; }),
      cap("tenancy.personal_tpm", 1'000'000'000'000,
          "tokens per minute of a new personal tenant (empty: unlimited)",
          [](Config& c) -> std::optional<std::int64_t>& { return c.tenancy.personal_limits.tpm; }),
      cap("tenancy.personal_parallel", 1'000'000,
          "requests in flight at once of a new personal tenant (empty: unlimited)",
          [](Config& c) -> std::optional<std::int64_t>& { return c.tenancy.personal_limits.parallel; }),
      list("tenancy.personal_models",
           "comma-separated aliases a new personal tenant may use (empty: every enabled model)",
           [](Config& c) -> std::vector<std::string>& { return c.tenancy.personal_models; }),
      text("oidc.issuer", "", "OpenID Connect issuer URL; SSO is off while empty",
           [](Config& c) -> std::string& { return c.oidc.issuer; }),
      text("oidc.client_id", "", "the client id registered with the issuer",
           [](Config& c) -> std::string& { return c.oidc.client_id; }),
      text("oidc.client_secret", "", "the client secret registered with the issuer",
           [](Config& c) -> std::string& { return c.oidc.client_secret; }),
      text("oidc.redirect_uri", "",
           "the callback registered with the issuer (empty: <public_url>/auth/oidc/callback)",
           [](Config& c) -> std::string& { return c.oidc.redirect_uri; }),
      text("oidc.scopes", "openid email profile", "scopes asked for",
           [](Config& c) -> std::string& { return c.oidc.scopes; }),
      text("oidc.role_claim", "groups", "the ID-token claim that lists the user's roles",
           [](Config& c) -> std::string& { return c.oidc.role_claim; }),
      list("oidc.allowed_roles", "comma-separated roles of which a user needs one to sign in (empty: any)",
           [](Config& c) -> std::vector<std::string>& { return c.oidc.allowed_roles; }),
      list("oidc.admin_roles", "comma-separated roles that make a user a platform administrator",
           [](Config& c) -> std::vector<std::string>& { return c.oidc.admin_roles; }),
      duration("ready.check_timeout_ms", 1'000, 10, 60'000, "deadline of each /ready dependency check",
               [](Config& c) -> std::chrono::milliseconds& { return c.ready.check_timeout; }),
  };
  return table;
}

const Setting* find_setting(const std::string& path) {
  for (const auto& setting : settings()) {
    if (setting.path == path) return &setting;
  }
  return nullptr;
}

void apply_yaml(Config& config, const YAML::Node& node, const std::string& prefix, const std::string& file) {
  for (const auto& entry : node) {
    std::string key = entry.first.as<std::string>();
    std::string path = prefix.empty() ? key : prefix + "." + key;
    const YAML::Node& value = entry.second;
    if (value.IsMap()) {
      apply_yaml(config, value, path, file);
      continue;
    }
    const Setting* setting = find_setting(path);
    if (setting == nullptr) throw ConfigError(file + ": unknown setting '" + path + "'");
    if (!value.IsScalar()) throw ConfigError(file + ": setting '" + path + "' must be a single value");
    try {
      setting->apply(config, value.Scalar());
    } catch (const std::invalid_argument& bad) {
      throw ConfigError(file + ": setting '" + path + "': " + std::string(bad.what()));
    }
  }
}

}  // namespace

ListenAddress parse_listen_address(const std::string& text) {
  auto colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0)
    throw std::invalid_argument{"'" + text + "' is not host:port"};
  std::string host = text.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  auto port = parse_integer(text.substr(colon + 1), 0, 65535);
  return {host, static_cast<std::uint16_t>(port)};
}

RedisEndpoint parse_redis_url(const std::string& url) {
  auto parsed = boost::urls::parse_uri(url);
  if (!parsed || parsed->scheme() != "redis") throw std::invalid_argument{"must be a redis://host:port URL"};
  RedisEndpoint endpoint;
  endpoint.host = parsed->host_address();
  if (endpoint.host.empty()) throw std::invalid_argument{"has no host"};
  if (parsed->has_port()) endpoint.port = static_cast<std::uint16_t>(parse_integer(parsed->port(), 1, 65535));
  if (parsed->has_password()) endpoint.password = parsed->password();
  std::string path = parsed->path();
  if (!path.empty() && path != "/")
    endpoint.db = static_cast<int>(parse_integer(path.substr(1), 0, 1'000'000));
  return endpoint;
}

Config load_config(const std::optional<std::string>& file, const Environment& env, ConfigNeeds needs) {
  Config config;
  if (file) {
    YAML::Node root;
    try {
      root = YAML::LoadFile(*file);
    } catch (const YAML::Exception& e) {
      throw ConfigError("config file " + *file + ": " + e.msg);
    }
    if (!root.IsNull()) {
      if (!root.IsMap()) throw ConfigError("config file " + *file + ": must be a mapping of settings");
      apply_yaml(config, root, "", "config file " + *file);
    }
  }
  for (const auto& setting : settings()) {
    auto name = env_var_for(setting.path);
    auto found = env.find(name);
    if (found == env.end()) continue;
    try {
      setting.apply(config, found->second);
    } catch (const std::invalid_argument& bad) {
      throw ConfigError(name + ": " + std::string(bad.what()));
    }
  }
  if (needs.database && config.database.url.empty()) {
    throw ConfigError("SWITCHYARD_DATABASE_URL is not set (or database.url in the config file)");
  }
  if (needs.redis && config.redis.url.empty()) {
    throw ConfigError("SWITCHYARD_REDIS_URL is not set (or redis.url in the config file)");
  }
  if (needs.master_key && config.master_key.empty()) {
    throw ConfigError("SWITCHYARD_MASTER_KEY is not set (or master_key in the config file)");
  }
  return config;
}

Environment process_environment() {
  Environment env;
  for (char** entry = environ; *entry != nullptr; ++entry) {
    std::string_view text(*entry);
    auto eq = text.find('=');
    if (eq != std::string_view::npos) env.emplace(text.substr(0, eq), text.substr(eq + 1));
  }
  return env;
}

std::vector<SettingInfo> known_settings() {
  std::vector<SettingInfo> out;
  for (const auto& setting : settings()) {
    out.push_back({setting.path, env_var_for(setting.path), setting.default_value, setting.description});
  }
  return out;
}

}  // namespace switchyard
