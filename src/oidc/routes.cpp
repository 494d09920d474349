#include "switchyard/oidc/routes.hpp"

#include <memory>
#include <nlohmann/json.hpp>
#include <optional>

#include "switchyard/core/crypto.hpp"
#include "switchyard/core/error.hpp"
#include "switchyard/http/upstream_client.hpp"
#include "switchyard/identity/accounts.hpp"
#include "switchyard/identity/sessions.hpp"
#include "switchyard/oidc/issuer.hpp"
#include "switchyard/oidc/login.hpp"
#include "switchyard/oidc/roles.hpp"
#include "switchyard/store/postgres_pool.hpp"

namespace switchyard::oidc {
namespace {

namespace asio = boost::asio;
using nlohmann::json;
using Clock = std::chrono::system_clock;

constexpr const char* kLoginPath = "/auth/oidc/login";
constexpr const char* kRoleRequired = "sso_role_required";
constexpr const char* kFailed = "sso_failed";

/// A sign-in that cannot finish: `code` goes to the login page, what() only to the log.
class SignInFailed : public std::runtime_error {
 public:
  SignInFailed(const char* code, const std::string& reason) : std::runtime_error(reason), code_(code) {}
  const char* code() const { return code_; }

 private:
  const char* code_;
};

/// Everything the routes share; lives as long as the router's handlers.
struct Shared {
  OidcParts parts;
  OidcOptions options;
  std::unique_ptr<Issuer> issuer;  // null while OIDC is off
};

struct SignedIn {
  identity::NewSession session;
  std::string user_id;
  std::string return_to;
};

http::Response redirect(const std::string& location) {
  http::Response response;
  response.status = 302;
  response.headers.add("Location", location);
  response.headers.add("Cache-Control", "no-store");
  // The callback URL carries the code; it must not leak to the next page's requests.
  response.headers.add("Referrer-Policy", "no-referrer");
  return response;
}

std::string claim_text(const json& claims, const char* name) {
  auto found = claims.find(name);
  return found != claims.end() && found->is_string() ? found->get<std::string>() : std::string();
}

std::string joined(const std::vector<std::string>& roles) {
  std::string text;
  for (const auto& role : roles) text += (text.empty() ? "" : ",") + role;
  return text.empty() ? "none" : text;
}

/// Checks the pending sign-in against the callback and returns it; throws SignInFailed.
PendingLogin pending_for_callback(const http::Request& request, const crypto::MasterKey& master_key) {
  auto cookie = identity::cookie_value(request, kPendingLoginCookie);
  if (!cookie)
    throw SignInFailed(kFailed, "no sy_oidc cookie: the sign-in expired or began in another browser");
  auto pending = open_pending_login(*cookie, master_key, Clock::now());
  if (!pending)
    throw SignInFailed(kFailed, "the sy_oidc cookie is altered, foreign or older than 10 minutes");
  if (auto error = request.query_param("error")) {
    throw SignInFailed(kFailed, "the issuer answered error=" + *error + " (" +
                                    request.query_param("error_description").value_or("") + ")");
  }
  auto state = request.query_param("state");
  if (!state || !crypto::constant_time_equal(*state, pending->state)) {
    throw SignInFailed(kFailed, "state does not match the sy_oidc cookie's");
  }
  return *pending;
}

asio::awaitable<SignedIn> complete_sign_in(Shared& shared, http::RequestContext& context) {
  const auto& request = context.request;
  auto pending = pending_for_callback(request, shared.parts.master_key);
  auto code = request.query_param("code");
  if (!code || code->empty()) throw SignInFailed(kFailed, "the callback has no code");

  auto id_token = co_await shared.issuer->exchange_code(*code, shared.options.redirect_uri, pending.verifier);
  auto token = co_await shared.issuer->verify(std::move(id_token), pending.nonce);
  const auto& settings = shared.options.oidc;
  auto roles = decide_roles(token.claims, settings);
  if (!roles.allowed) {
    throw SignInFailed(kRoleRequired, "subject " + token.subject +
                                          " has none of the allowed roles in claim " + settings.role_claim +
                                          " (has: " + joined(roles.roles) + ")");
  }
  auto email = claim_text(token.claims, "email");
  if (email.empty())
    throw SignInFailed(kFailed, "the ID token of subject " + token.subject + " has no email");
  // Only an address the issuer vouches for may be linked to the local account that has it (some issuers
  // omit the claim, some send it as text).
  auto verified_claim = token.claims.find("email_verified");
  bool email_verified =
      verified_claim != token.claims.end() && (*verified_claim == true || *verified_claim == "true");
  auto display_name = claim_text(token.claims, "name");
  if (display_name.empty()) display_name = claim_text(token.claims, "preferred_username");
  if (display_name.empty()) display_name = email;

  identity::SessionOrigin origin{request.remote_address,
                                 std::string(request.headers.find("User-Agent").value_or(""))};
  // Without admin roles configured the issuer has no say in who administers: keep what the user has.
  auto is_admin = settings.admin_roles.empty() ? std::nullopt : std::optional<bool>(roles.admin);
  SignedIn signed_in;
  signed_in.return_to = safe_return_path(pending.return_to);
  signed_in.session = co_await shared.parts.pool.transact([&](pqxx::work& tx) {
    signed_in.user_id = identity::upsert_oidc_user(tx, settings.issuer, token.subject, email, email_verified,
                                                   display_name, is_admin, shared.options.tenancy);
    return identity::open_session(tx, shared.parts.master_key, signed_in.user_id,
                                  identity::SignInMethod::oidc, origin, shared.options.session_ttl);
  });
  co_return signed_in;
}

asio::awaitable<http::Response> login(Shared& shared, http::RequestContext& context) {
  if (!shared.issuer) throw ApiError::not_found("Single sign-on is not configured.");
  auto pending = new_pending_login(context.request.query_param("return_to"), Clock::now());
  std::optional<Discovery> found;
  std::string unreachable;
  try {
    found = co_await shared.issuer->discovery();
  } catch (const IssuerUnavailable& error) {
    unreachable = error.what();
  }
  if (!found) {
    context.log.warn("oidc: the issuer is unavailable: {}", unreachable);
    throw ApiError(502, "upstream_error", "sso_unavailable",
                   "The identity provider cannot be reached; try again later.", {}, unreachable);
  }
  const auto& settings = shared.options.oidc;
  AuthorizationRequest authorization{found->authorization_endpoint,
                                     settings.client_id,
                                     shared.options.redirect_uri,
                                     settings.scopes,
                                     pending.state,
                                     pending.nonce,
                                     pkce_challenge(pending.verifier)};
  auto response = redirect(authorization_url(authorization));
  bool secure = identity::wants_secure_cookies(context.request, shared.options.public_url);
  response.headers.add("Set-Cookie",
                       pending_login_cookie(seal_pending_login(pending, shared.parts.master_key), secure));
  co_return response;
}

asio::awaitable<http::Response> callback(Shared& shared, http::RequestContext& context) {
  if (!shared.issuer) throw ApiError::not_found("Single sign-on is not configured.");
  std::optional<SignedIn> signed_in;
  const char* code = kFailed;
  std::string reason;
  try {
    signed_in = co_await complete_sign_in(shared, context);
  } catch (const SignInFailed& failed) {
    code = failed.code();
    reason = failed.what();
  } catch (const TokenRefused& refused) {
    reason = "ID token refused (" + std::string(refusal_name(refused.refusal())) + "): " + refused.what();
  } catch (const IssuerUnavailable& unavailable) {
    reason = std::string("the issuer is unavailable: ") + unavailable.what();
  } catch (const ApiError& error) {
    reason = "the account cannot sign in: " + error.code() + " " + error.what() + " " + error.detail();
  } catch (const std::exception& error) {
    reason = std::string("unexpected failure: ") + error.what();
  }
  bool secure = identity::wants_secure_cookies(context.request, shared.options.public_url);
  if (!signed_in) {
    context.log.warn("oidc: sign-in refused ({}): {}", code, reason);
    auto response = redirect(std::string("/login?error=") + code);
    response.headers.add("Set-Cookie", clear_pending_login_cookie(secure));
    co_return response;
  }
  context.log.info("oidc: user {} signed in, session {}", signed_in->user_id, signed_in->session.id);
  auto response = redirect(signed_in->return_to);
  response.headers.add("Set-Cookie", clear_pending_login_cookie(secure));
  identity::set_session_cookies(response.headers, signed_in->session, secure);
  co_return response;
}

}  // namespace

OidcOptions oidc_options(const Config& config) {
  if (config.oidc.enabled() && config.oidc.client_id.empty()) {
    throw ConfigError("SWITCHYARD_OIDC_CLIENT_ID: required when oidc.issuer is set");
  }
  return {config.oidc, redirect_uri_for(config.oidc, config.server, config.listen), config.server.public_url,
          config.auth.session_ttl, config.tenancy};
}

void add_oidc_routes(http::Router& router, OidcParts parts, OidcOptions options) {
  auto shared = std::make_shared<Shared>(Shared{parts, std::move(options), nullptr});
  if (shared->options.oidc.enabled()) {
    shared->issuer = std::make_unique<Issuer>(parts.upstream, shared->options.oidc);
  }

  router.add("GET", "/auth/methods", [shared](http::RequestContext&) -> asio::awaitable<http::Response> {
    json methods = {{"password", true},
                    {"oidc", {{"enabled", shared->issuer != nullptr}, {"login_url", kLoginPath}}}};
    co_return http::Response::json(200, methods.dump());
  });
  router.add("GET", kLoginPath, [shared](http::RequestContext& context) { return login(*shared, context); });
  router.add("GET", "/auth/oidc/callback",
             [shared](http::RequestContext& context) { return callback(*shared, context); });
}

}  // namespace switchyard::oidc
