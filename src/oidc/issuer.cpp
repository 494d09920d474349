#include "switchyard/oidc/issuer.hpp"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "switchyard/core/crypto.hpp"
#include "switchyard/http/upstream_client.hpp"
#include "switchyard/oidc/login.hpp"

namespace switchyard::oidc {
namespace {

namespace asio = boost::asio;
using nlohmann::json;
using SteadyClock = std::chrono::steady_clock;

constexpr std::size_t kMaxDocumentBytes = 1u << 20;
constexpr std::chrono::hours kDiscoveryLifetime{1};
// A key set is refetched when it has aged this much, even if no token asked for a new key: keys the issuer
// withdrew stop being trusted.
constexpr std::chrono::hours kJwksLifetime{24};

std::string string_member(const json& document, const char* name) {
  auto found = document.find(name);
  if (found == document.end() || !found->is_string() || found->get_ref<const std::string&>().empty()) {
    throw std::invalid_argument(std::string("discovery document has no \"") + name + "\"");
  }
  return found->get<std::string>();
}

std::string form_encode(std::string_view text) { return percent_encode(text); }

}  // namespace

Discovery parse_discovery(std::string_view document, std::string_view expected_issuer) {
  auto parsed = json::parse(document, nullptr, false);
  if (!parsed.is_object()) throw std::invalid_argument("discovery document is not a JSON object");
  Discovery discovery{string_member(parsed, "issuer"),
                      string_member(parsed, "authorization_endpoint"),
                      string_member(parsed, "token_endpoint"),
                      string_member(parsed, "jwks_uri"),
                      {}};
  if (discovery.issuer != expected_issuer) {
    throw std::invalid_argument("discovery document's issuer " + discovery.issuer + " is not " +
                                std::string(expected_issuer));
  }
  if (auto methods = parsed.find("token_endpoint_auth_methods_supported");
      methods != parsed.end() && methods->is_array()) {
    for (const auto& method : *methods) {
      if (method.is_string()) discovery.token_endpoint_auth_methods.push_back(method.get<std::string>());
    }
  }
  return discovery;
}

ClientAuth client_auth_for(const Discovery& discovery) {
  const auto& methods = discovery.token_endpoint_auth_methods;
  auto lists = [&](std::string_view method) {
    return std::find(methods.begin(), methods.end(), method) != methods.end();
  };
  return lists("client_secret_post") && !lists("client_secret_basic") ? ClientAuth::secret_post
                                                                      : ClientAuth::secret_basic;
}

std::string token_request_body(std::string_view code, std::string_view redirect_uri,
                               std::string_view verifier, const OidcSettings& settings, ClientAuth auth) {
  std::string body = "grant_type=authorization_code&code=" + form_encode(code) +
                     "&redirect_uri=" + form_encode(redirect_uri) + "&code_verifier=" + form_encode(verifier);
  if (auth == ClientAuth::secret_post) {
    body += "&client_id=" + form_encode(settings.client_id) +
            "&client_secret=" + form_encode(settings.client_secret);
  }
  return body;
}

std::string basic_client_credentials(const OidcSettings& settings) {
  // RFC 6749 §2.3.1: both parts are form-encoded before they are joined.
  return "Basic " +
         crypto::base64_encode(form_encode(settings.client_id) + ":" + form_encode(settings.client_secret));
}

std::string id_token_of(std::string_view token_response) {
  auto parsed = json::parse(token_response, nullptr, false);
  if (!parsed.is_object()) throw std::invalid_argument("token response is not a JSON object");
  if (auto error = parsed.find("error"); error != parsed.end()) {
    throw std::invalid_argument("token endpoint refused: " + error->dump() + " " +
                                parsed.value("error_description", std::string()));
  }
  auto id_token = parsed.find("id_token");
  if (id_token == parsed.end() || !id_token->is_string()) {
    throw std::invalid_argument("token response has no id_token");
  }
  return id_token->get<std::string>();
}

Issuer::Issuer(http::UpstreamClient& upstream, OidcSettings settings, IssuerTiming timing)
    : upstream_(upstream), settings_(std::move(settings)), timing_(timing) {}

asio::awaitable<std::string> Issuer::fetch(std::string url, std::string method, std::string body,
                                           std::vector<std::pair<std::string, std::string>> headers,
                                           bool oauth_errors) {
  http::UpstreamRequest request;
  request.method = std::move(method);
  request.url = url;
  request.body = std::move(body);
  request.headers.add("Accept", "application/json");
  for (auto& [name, value] : headers) request.headers.add(std::move(name), std::move(value));
  request.deadlines = {timing_.connect, timing_.total, timing_.total, timing_.total};
  std::string failure;
  try {
    auto response = co_await upstream_.send(std::move(request));
    auto text = co_await response->read_all(kMaxDocumentBytes);
    // RFC 6749 §5.2: the token endpoint refuses a code or a client with 400 or 401 and a JSON body.
    bool oauth_error = oauth_errors && (response->status() == 400 || response->status() == 401);
    if (response->status() == 200 || oauth_error) co_return text;
    failure = "HTTP " + std::to_string(response->status());
  } catch (const http::UpstreamError& error) {
    if (error.kind() == http::UpstreamError::Kind::cancelled) throw;
    failure = error.what();
  }
  throw IssuerUnavailable(url + ": " + failure);
}

asio::awaitable<Discovery> Issuer::discovery() {
  {
    std::lock_guard lock(mutex_);
    if (discovery_ && SteadyClock::now() - discovered_at_ < kDiscoveryLifetime) co_return *discovery_;
  }
  auto issuer = settings_.issuer;
  while (!issuer.empty() && issuer.back() == '/') issuer.pop_back();
  auto url = issuer + "/.well-known/openid-configuration";
  auto document = co_await fetch(url, "GET", {}, {}, false);
  Discovery parsed;
  try {
    parsed = parse_discovery(document, settings_.issuer);
  } catch (const std::invalid_argument& wrong) {
    throw IssuerUnavailable(wrong.what());
  }
  std::lock_guard lock(mutex_);
  discovery_ = parsed;
  discovered_at_ = SteadyClock::now();
  co_return parsed;
}

asio::awaitable<std::vector<VerificationKey>> Issuer::keys(bool refresh) {
  auto now = SteadyClock::now();
  {
    std::lock_guard lock(mutex_);
    if (keys_) {
      auto age = now - keys_->fetched_at;
      bool stale = age >= kJwksLifetime || (refresh && age >= timing_.jwks_refetch_interval);
      if (!stale) co_return keys_->keys;
    }
  }
  auto found = co_await discovery();
  auto document = co_await fetch(found.jwks_uri, "GET", {}, {}, false);
  std::vector<VerificationKey> fetched;
  try {
    fetched = keys_from_jwks(document);
  } catch (const std::invalid_argument& wrong) {
    throw IssuerUnavailable(found.jwks_uri + ": " + wrong.what());
  }
  std::lock_guard lock(mutex_);
  keys_ = Keys{fetched, SteadyClock::now()};
  co_return fetched;
}

asio::awaitable<std::string> Issuer::exchange_code(std::string code, std::string redirect_uri,
                                                   std::string verifier) {
  auto found = co_await discovery();
  auto auth = client_auth_for(found);
  auto body = token_request_body(code, redirect_uri, verifier, settings_, auth);
  std::vector<std::pair<std::string, std::string>> headers;
  headers.emplace_back("Content-Type", "application/x-www-form-urlencoded");
  if (auth == ClientAuth::secret_basic)
    headers.emplace_back("Authorization", basic_client_credentials(settings_));
  auto answer = co_await fetch(found.token_endpoint, "POST", std::move(body), std::move(headers), true);
  try {
    co_return id_token_of(answer);
  } catch (const std::invalid_argument& refused) {
    throw TokenRefused(Refusal::malformed, refused.what());
  }
}

asio::awaitable<IdToken> Issuer::verify(std::string id_token, std::string nonce) {
  auto known = co_await keys(false);
  IdTokenCheck check{settings_.issuer, settings_.client_id, nonce, std::chrono::system_clock::now()};
  bool unknown_key = false;
  try {
    co_return verify_id_token(id_token, known, check);
  } catch (const TokenRefused& refused) {
    if (refused.refusal() != Refusal::unknown_key) throw;
    unknown_key = true;
  }
  // The issuer may have rotated its keys since we fetched them.
  auto fresh = co_await keys(unknown_key);
  check.now = std::chrono::system_clock::now();
  co_return verify_id_token(id_token, fresh, check);
}

}  // namespace switchyard::oidc
