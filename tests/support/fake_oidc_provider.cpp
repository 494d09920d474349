#include "support/fake_oidc_provider.hpp"

#include <jwt.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <thread>

#include "switchyard/core/crypto.hpp"
#include "switchyard/http/message.hpp"

namespace switchyard::testing {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using asio::ip::tcp;
using nlohmann::json;

namespace {

struct PkeyFree {
  void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};
struct BioFree {
  void operator()(BIO* bio) const { BIO_free(bio); }
};
struct JwtFree {
  void operator()(jwt_t* jwt) const { jwt_free(jwt); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyFree>;

std::string pem(const Pkey& key, bool private_half) {
  std::unique_ptr<BIO, BioFree> bio(BIO_new(BIO_s_mem()));
  int written = private_half
                    ? PEM_write_bio_PrivateKey(bio.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr)
                    : PEM_write_bio_PUBKEY(bio.get(), key.get());
  if (written != 1) throw std::runtime_error("PEM_write failed");
  char* data = nullptr;
  long size = BIO_get_mem_data(bio.get(), &data);
  return {data, static_cast<std::size_t>(size)};
}

std::string bignum_param(const Pkey& key, const char* name) {
  BIGNUM* number = nullptr;
  if (EVP_PKEY_get_bn_param(key.get(), name, &number) != 1)
    throw std::runtime_error("EVP_PKEY_get_bn_param failed");
  std::string bytes(static_cast<std::size_t>(BN_num_bytes(number)), '\0');
  BN_bn2bin(number, reinterpret_cast<unsigned char*>(bytes.data()));
  BN_free(number);
  return crypto::base64url_encode(bytes);
}

/// Signs with libjwt: `key` is a PEM private key, or the HMAC secret, or empty for `none`.
std::string encode(const json& claims, jwt_alg_t alg, const std::string& key, const std::string& kid) {
  jwt_t* raw = nullptr;
  if (jwt_new(&raw) != 0) throw std::runtime_error("jwt_new failed");
  std::unique_ptr<jwt_t, JwtFree> jwt(raw);
  if (jwt_add_grants_json(jwt.get(), claims.dump().c_str()) != 0)
    throw std::runtime_error("jwt_add_grants_json");
  if (!kid.empty() && jwt_add_header(jwt.get(), "kid", kid.c_str()) != 0) throw std::runtime_error("jwt kid");
  auto key_bytes = reinterpret_cast<const unsigned char*>(key.empty() ? nullptr : key.data());
  if (jwt_set_alg(jwt.get(), alg, key_bytes, static_cast<int>(key.size())) != 0) {
    throw std::runtime_error("jwt_set_alg failed");
  }
  char* token = jwt_encode_str(jwt.get());
  if (token == nullptr) throw std::runtime_error("jwt_encode_str failed");
  std::string text(token);
  std::free(token);
  return text;
}

std::map<std::string, std::string> form_fields(std::string_view text) {
  std::map<std::string, std::string> fields;
  while (!text.empty()) {
    auto amp = text.find('&');
    auto pair = text.substr(0, amp);
    text = amp == std::string_view::npos ? std::string_view{} : text.substr(amp + 1);
    auto eq = pair.find('=');
    auto decode = [](std::string_view part) {
      std::string plus(part);
      std::replace(plus.begin(), plus.end(), '+', ' ');
      return http::percent_decode(plus).value_or("");
    };
    fields[decode(pair.substr(0, eq))] = eq == std::string_view::npos ? "" : decode(pair.substr(eq + 1));
  }
  return fields;
}

std::string answer(int status, const std::string& content_type, const std::string& body,
                   const std::string& extra_headers = {}) {
  std::string reason = status == 200   ? "OK"
                       : status == 302 ? "Found"
                       : status == 401 ? "Unauthorized"
                                       : "Bad Request";
  return "HTTP/1.1 " + std::to_string(status) + " " + reason + "\r\nContent-Type: " + content_type +
         "\r\nCache-Control: no-store\r\nContent-Length: " + std::to_string(body.size()) + "\r\n" +
         extra_headers + "\r\n" + body;
}

}  // namespace

TestSigningKey::TestSigningKey(oidc::KeyType type, std::string kid) : type_(type), kid_(std::move(kid)) {
  Pkey key(type == oidc::KeyType::rsa ? EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", std::size_t{2048})
                                      : EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  if (!key) throw std::runtime_error("EVP_PKEY_Q_keygen failed");
  private_pem_ = pem(key, true);
  public_pem_ = pem(key, false);
  jwk_ = {{"kid", kid_}, {"use", "sig"}, {"alg", std::string(oidc::algorithm_for(type))}};
  if (type == oidc::KeyType::rsa) {
    jwk_["kty"] = "RSA";
    jwk_["n"] = bignum_param(key, OSSL_PKEY_PARAM_RSA_N);
    jwk_["e"] = bignum_param(key, OSSL_PKEY_PARAM_RSA_E);
  } else {
    unsigned char point[65];
    std::size_t length = 0;
    if (EVP_PKEY_get_octet_string_param(key.get(), OSSL_PKEY_PARAM_PUB_KEY, point, sizeof point, &length) !=
            1 ||
        length != sizeof point || point[0] != 0x04) {
      throw std::runtime_error("EC public point is not uncompressed P-256");
    }
    std::string bytes(reinterpret_cast<const char*>(point), length);
    jwk_["kty"] = "EC";
    jwk_["crv"] = "P-256";
    jwk_["x"] = crypto::base64url_encode(bytes.substr(1, 32));
    jwk_["y"] = crypto::base64url_encode(bytes.substr(33, 32));
  }
}

json TestSigningKey::public_jwk() const { return jwk_; }

std::string TestSigningKey::sign(const json& claims, bool with_kid) const {
  return encode(claims, type_ == oidc::KeyType::rsa ? JWT_ALG_RS256 : JWT_ALG_ES256, private_pem_,
                with_kid ? kid_ : std::string());
}

std::string hmac_or_unsigned_token(const json& claims, const std::string& alg, const std::string& secret,
                                   const std::string& kid) {
  return encode(claims, alg == "none" ? JWT_ALG_NONE : jwt_str_alg(alg.c_str()), alg == "none" ? "" : secret,
                kid);
}

/// A code the authorize endpoint gave out, until the token endpoint takes it.
struct Grant {
  std::string redirect_uri;
  std::string challenge;
  std::string nonce;
  FakeOidcUser user;
};

struct FakeOidcProvider::State {
  std::string client_id;
  std::string client_secret;
  mutable std::mutex mutex;
  int generation = 0;
  std::unique_ptr<TestSigningKey> rsa, ec, foreign_rsa, foreign_ec;
  FakeOidcUser user;
  std::string role_claim = "groups";
  oidc::KeyType signing = oidc::KeyType::rsa;
  TokenFlaw flaw = TokenFlaw::none;
  std::vector<std::string> auth_methods{"client_secret_basic", "client_secret_post"};
  std::map<std::string, Grant> grants;
  int discovery_fetches = 0, jwks_fetches = 0, token_requests = 0;
  std::vector<std::string> refusals;

  asio::io_context io{1};
  tcp::acceptor acceptor{io};
  std::thread thread;

  std::string issuer() const {
    return "http://127.0.0.1:" + std::to_string(acceptor.local_endpoint().port());
  }

  void make_keys() {
    ++generation;
    auto suffix = std::to_string(generation);
    rsa = std::make_unique<TestSigningKey>(oidc::KeyType::rsa, "rsa-" + suffix);
    ec = std::make_unique<TestSigningKey>(oidc::KeyType::ec_p256, "ec-" + suffix);
    // Same kids, other key material: what an attacker's token would claim.
    foreign_rsa = std::make_unique<TestSigningKey>(oidc::KeyType::rsa, rsa->kid());
    foreign_ec = std::make_unique<TestSigningKey>(oidc::KeyType::ec_p256, ec->kid());
  }

  std::string discovery() {
    std::lock_guard lock(mutex);
    ++discovery_fetches;
    auto base = issuer();
    return json{{"issuer", base},
                {"authorization_endpoint", base + "/authorize"},
                {"token_endpoint", base + "/token"},
                {"jwks_uri", base + "/jwks"},
                {"response_types_supported", {"code"}},
                {"subject_types_supported", {"public"}},
                {"id_token_signing_alg_values_supported", {"RS256", "ES256"}},
                {"code_challenge_methods_supported", {"S256"}},
                {"token_endpoint_auth_methods_supported", auth_methods}}
        .dump();
  }

  std::string jwks() {
    std::lock_guard lock(mutex);
    ++jwks_fetches;
    return json{
        {"keys", {rsa->public_jwk(), ec->public_jwk(), {{"kty", "oct"}, {"kid", "hmac"}, {"k", "c2VjcmV0"}}}}}
        .dump();
  }

  std::string authorize(const std::map<std::string, std::string>& query) {
    auto field = [&](const char* name) {
      auto found = query.find(name);
      return found == query.end() ? std::string() : found->second;
    };
    if (field("client_id") != client_id || field("response_type") != "code" ||
        field("redirect_uri").empty() || field("code_challenge_method") != "S256" ||
        field("code_challenge").empty() || field("scope").find("openid") == std::string::npos) {
      return answer(400, "text/plain", "bad authorization request");
    }
    auto code = crypto::random_token(16);
    {
      std::lock_guard lock(mutex);
      grants[code] = {field("redirect_uri"), field("code_challenge"), field("nonce"), user};
    }
    auto location = field("redirect_uri") + "?code=" + code + "&state=" + oidc_encode(field("state"));
    return answer(302, "text/plain", "", "Location: " + location + "\r\n");
  }

  static std::string oidc_encode(const std::string& text) {
    std::string out;
    for (unsigned char c : text) {
      if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
        out += static_cast<char>(c);
      } else {
        char escape[4];
        std::snprintf(escape, sizeof escape, "%%%02X", c);
        out += escape;
      }
    }
    return out;
  }

  /// The client's id and secret, by the method it used; nullopt when that method is not offered.
  std::optional<std::pair<std::string, std::string>> client_of(
      const bhttp::request<bhttp::string_body>& request, const std::map<std::string, std::string>& form) {
    auto offered = [&](const char* method) {
      return std::find(auth_methods.begin(), auth_methods.end(), method) != auth_methods.end();
    };
    auto header = request.find(bhttp::field::authorization);
    if (header != request.end()) {
      std::string value(header->value());
      auto decoded = crypto::base64_decode(value.substr(std::min<std::size_t>(6, value.size())));
      if (!offered("client_secret_basic") || value.rfind("Basic ", 0) != 0 || !decoded) return std::nullopt;
      auto colon = decoded->find(':');
      if (colon == std::string::npos) return std::nullopt;
      auto fields = form_fields("i=" + decoded->substr(0, colon) + "&s=" + decoded->substr(colon + 1));
      return std::pair{fields["i"], fields["s"]};
    }
    if (!offered("client_secret_post") || !form.contains("client_id")) return std::nullopt;
    return std::pair{form.at("client_id"), form.count("client_secret") ? form.at("client_secret") : ""};
  }

  std::string refuse(int status, const std::string& error, const std::string& why) {
    refusals.push_back(why);
    return answer(status, "application/json", json{{"error", error}, {"error_description", why}}.dump());
  }

  std::string token(const bhttp::request<bhttp::string_body>& request) {
    auto form = form_fields(request.body());
    std::lock_guard lock(mutex);
    ++token_requests;
    auto client = client_of(request, form);
    if (!client || client->first != client_id || client->second != client_secret) {
      return refuse(401, "invalid_client", "client authentication failed");
    }
    if (form["grant_type"] != "authorization_code")
      return refuse(400, "unsupported_grant_type", "grant_type");
    auto found = grants.find(form["code"]);
    if (found == grants.end()) return refuse(400, "invalid_grant", "unknown or used code");
    auto grant = found->second;
    grants.erase(found);
    if (form["redirect_uri"] != grant.redirect_uri)
      return refuse(400, "invalid_grant", "redirect_uri differs");
    if (crypto::base64url_encode(crypto::sha256(form["code_verifier"])) != grant.challenge) {
      return refuse(400, "invalid_grant", "PKCE verifier does not match the challenge");
    }
    auto id_token = mint(grant);
    return answer(200, "application/json",
                  json{{"access_token", crypto::random_token(16)},
                       {"token_type", "Bearer"},
                       {"expires_in", 300},
                       {"id_token", id_token}}
                      .dump());
  }

  /// The ID token for a grant, spoiled as `flaw` says. Called with the mutex held.
  std::string mint(const Grant& grant) {
    auto now =
        std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
            .count();
    json claims = {{"iss", issuer()},           {"sub", grant.user.subject},
                   {"aud", client_id},          {"iat", now},
                   {"exp", now + 300},          {"nonce", grant.nonce},
                   {"email", grant.user.email}, {"email_verified", grant.user.email_verified},
                   {"name", grant.user.name}};
    auto dot = role_claim.find('.');
    if (dot == std::string::npos) {
      claims[role_claim] = grant.user.roles;
    } else {
      claims[role_claim.substr(0, dot)][role_claim.substr(dot + 1)] = grant.user.roles;
    }
    const auto& key = signing == oidc::KeyType::rsa ? *rsa : *ec;
    switch (flaw) {
      case TokenFlaw::wrong_audience:
        claims["aud"] = "another-client";
        break;
      case TokenFlaw::expired:
        claims["iat"] = now - 3600;
        claims["exp"] = now - 600;
        break;
      case TokenFlaw::wrong_issuer:
        claims["iss"] = "http://issuer.invalid";
        break;
      case TokenFlaw::wrong_nonce:
        claims["nonce"] = "not-the-nonce";
        break;
      case TokenFlaw::foreign_key:
        return (signing == oidc::KeyType::rsa ? *foreign_rsa : *foreign_ec).sign(claims);
      case TokenFlaw::alg_none:
        return hmac_or_unsigned_token(claims, "none", "", key.kid());
      case TokenFlaw::none:
        break;
    }
    return key.sign(claims);
  }

  std::string respond(const bhttp::request<bhttp::string_body>& request) {
    std::string target(request.target());
    auto path = target.substr(0, target.find('?'));
    bool get = request.method() == bhttp::verb::get;
    if (get && path == "/.well-known/openid-configuration")
      return answer(200, "application/json", discovery());
    if (get && path == "/jwks") return answer(200, "application/json", jwks());
    if (get && path == "/authorize") {
      auto mark = target.find('?');
      return authorize(
          form_fields(mark == std::string::npos ? "" : std::string_view(target).substr(mark + 1)));
    }
    if (request.method() == bhttp::verb::post && path == "/token") return token(request);
    return answer(404, "text/plain", "not found");
  }
};

namespace {

asio::awaitable<void> serve_connection(FakeOidcProvider::State& state, tcp::socket socket) {
  beast::flat_buffer buffer;
  for (;;) {
    bhttp::request_parser<bhttp::string_body> parser;
    auto [read_error, n] =
        co_await bhttp::async_read(socket, buffer, parser, asio::as_tuple(asio::use_awaitable));
    if (read_error) break;
    auto request = parser.release();
    auto bytes = state.respond(request);
    auto [write_error, written] =
        co_await asio::async_write(socket, asio::buffer(bytes), asio::as_tuple(asio::use_awaitable));
    if (write_error || !request.keep_alive()) break;
  }
  beast::error_code ignored;
  socket.shutdown(tcp::socket::shutdown_both, ignored);
}

asio::awaitable<void> accept_connections(FakeOidcProvider::State& state) {
  for (;;) {
    auto [error, socket] = co_await state.acceptor.async_accept(asio::as_tuple(asio::use_awaitable));
    if (error) co_return;
    asio::co_spawn(state.io, serve_connection(state, std::move(socket)), asio::detached);
  }
}

}  // namespace

FakeOidcProvider::FakeOidcProvider(std::string client_id, std::string client_secret)
    : state_(std::make_shared<State>()) {
  state_->client_id = std::move(client_id);
  state_->client_secret = std::move(client_secret);
  state_->make_keys();
  tcp::endpoint endpoint(asio::ip::address_v4::loopback(), 0);
  state_->acceptor.open(endpoint.protocol());
  state_->acceptor.bind(endpoint);
  state_->acceptor.listen();
  asio::co_spawn(state_->io, accept_connections(*state_), asio::detached);
  state_->thread = std::thread([state = state_.get()] { state->io.run(); });
}

FakeOidcProvider::~FakeOidcProvider() {
  state_->io.stop();
  state_->thread.join();
}

std::string FakeOidcProvider::issuer() const { return state_->issuer(); }

std::uint16_t FakeOidcProvider::port() const { return state_->acceptor.local_endpoint().port(); }

void FakeOidcProvider::set_user(FakeOidcUser user) {
  std::lock_guard lock(state_->mutex);
  state_->user = std::move(user);
}

void FakeOidcProvider::set_role_claim(std::string claim) {
  std::lock_guard lock(state_->mutex);
  state_->role_claim = std::move(claim);
}

void FakeOidcProvider::set_signing_key(oidc::KeyType type) {
  std::lock_guard lock(state_->mutex);
  state_->signing = type;
}

void FakeOidcProvider::set_flaw(TokenFlaw flaw) {
  std::lock_guard lock(state_->mutex);
  state_->flaw = flaw;
}

void FakeOidcProvider::set_auth_methods(std::vector<std::string> methods) {
  std::lock_guard lock(state_->mutex);
  state_->auth_methods = std::move(methods);
}

void FakeOidcProvider::rotate_keys() {
  std::lock_guard lock(state_->mutex);
  state_->make_keys();
}

int FakeOidcProvider::discovery_fetches() const {
  std::lock_guard lock(state_->mutex);
  return state_->discovery_fetches;
}

int FakeOidcProvider::jwks_fetches() const {
  std::lock_guard lock(state_->mutex);
  return state_->jwks_fetches;
}

int FakeOidcProvider::token_requests() const {
  std::lock_guard lock(state_->mutex);
  return state_->token_requests;
}

std::vector<std::string> FakeOidcProvider::token_refusals() const {
  std::lock_guard lock(state_->mutex);
  return state_->refusals;
}

}  // namespace switchyard::testing
