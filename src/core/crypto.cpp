#include "switchyard/core/crypto.hpp"

#include <argon2.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#include <algorithm>
#include <array>
#include <climits>
#include <cstdint>
#include <cstring>
#include <memory>
#include <random>
#include <stdexcept>

namespace switchyard::crypto {
namespace {

constexpr std::string_view kBase64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
constexpr std::string_view kBase64Url = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

// Sub-key labels: changing one orphans every hash or ciphertext made under it.
constexpr std::string_view kApiKeyHashLabel = "switchyard api-key-hash v1";
constexpr std::string_view kCredentialLabel = "switchyard credential-encryption v1";

constexpr unsigned char kCiphertextVersion = 1;
constexpr std::size_t kNonceSize = 12;
constexpr std::size_t kTagSize = 16;

// OWASP's Argon2id setting (19 MiB, 2 passes, one lane because a login hashes on one thread): a login costs
// a server tens of milliseconds and 19 MiB while it runs, so a burst of logins cannot take gigabytes.
// Hashes keep their own parameters, so older ones still verify (and are redone at the next login).
constexpr std::uint32_t kArgonTimeCost = 2;
constexpr std::uint32_t kArgonMemoryKib = 19 * 1024;
constexpr std::uint32_t kArgonLanes = 1;
constexpr std::size_t kArgonSaltSize = 16;
constexpr std::size_t kArgonHashSize = 32;

constexpr std::string_view kApiKeyPrefix = "sk-sy-";
constexpr std::size_t kApiKeyDisplayLength = 12;

const unsigned char* bytes(std::string_view s) { return reinterpret_cast<const unsigned char*>(s.data()); }
unsigned char* bytes(std::string& s) { return reinterpret_cast<unsigned char*>(s.data()); }

int checked_int(std::size_t n) {
  if (n > static_cast<std::size_t>(INT_MAX)) throw std::length_error("input too large for OpenSSL");
  return static_cast<int>(n);
}

struct CipherCtxFree {
  void operator()(EVP_CIPHER_CTX* ctx) const { EVP_CIPHER_CTX_free(ctx); }
};
using CipherCtx = std::unique_ptr<EVP_CIPHER_CTX, CipherCtxFree>;

CipherCtx new_cipher_ctx() {
  CipherCtx ctx{EVP_CIPHER_CTX_new()};
  if (!ctx) throw std::runtime_error("EVP_CIPHER_CTX_new failed");
  return ctx;
}

std::string encode(std::string_view data, std::string_view alphabet, bool pad) {
  std::string out;
  out.reserve((data.size() + 2) / 3 * 4);
  auto at = [&](std::size_t i) { return static_cast<std::uint32_t>(static_cast<unsigned char>(data[i])); };
  std::size_t i = 0;
  for (; i + 3 <= data.size(); i += 3) {
    std::uint32_t v = at(i) << 16 | at(i + 1) << 8 | at(i + 2);
    out += alphabet[v >> 18 & 63];
    out += alphabet[v >> 12 & 63];
    out += alphabet[v >> 6 & 63];
    out += alphabet[v & 63];
  }
  std::size_t rest = data.size() - i;
  if (rest == 0) return out;
  std::uint32_t v = at(i) << 16 | (rest == 2 ? at(i + 1) << 8 : 0);
  out += alphabet[v >> 18 & 63];
  out += alphabet[v >> 12 & 63];
  if (rest == 2) out += alphabet[v >> 6 & 63];
  if (pad) out.append(3 - rest, '=');
  return out;
}

/// `text` without its padding, or nullopt when the padding is malformed.
std::optional<std::string_view> strip_padding(std::string_view text, bool required) {
  if (text.find('=') == std::string_view::npos) {
    if (required && text.size() % 4 != 0) return std::nullopt;
    return text;
  }
  if (text.size() % 4 != 0) return std::nullopt;
  std::size_t pads = text.size() - text.find_last_not_of('=') - 1;
  if (pads > 2) return std::nullopt;
  return text.substr(0, text.size() - pads);
}

std::optional<std::string> decode(std::string_view text, std::string_view alphabet, bool padding_required) {
  auto body = strip_padding(text, padding_required);
  if (!body || body->size() % 4 == 1) return std::nullopt;
  std::array<int, 256> value{};
  value.fill(-1);
  for (std::size_t i = 0; i < alphabet.size(); ++i)
    value[static_cast<unsigned char>(alphabet[i])] = static_cast<int>(i);

  std::string out;
  out.reserve(body->size() * 3 / 4);
  std::uint32_t acc = 0;
  int bits = 0;
  for (char c : *body) {
    int v = value[static_cast<unsigned char>(c)];
    if (v < 0) return std::nullopt;
    acc = acc << 6 | static_cast<std::uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>(acc >> bits & 0xff);
    }
  }
  // Leftover bits must be zero, so every byte string has exactly one encoding.
  if ((acc & ((1u << bits) - 1)) != 0) return std::nullopt;
  return out;
}

std::array<unsigned char, MasterKey::kSize> derive(std::string_view master, std::string_view label) {
  std::unique_ptr<EVP_KDF, decltype(&EVP_KDF_free)> kdf{EVP_KDF_fetch(nullptr, "HKDF", nullptr),
                                                        &EVP_KDF_free};
  if (!kdf) throw std::runtime_error("HKDF is not available");
  std::unique_ptr<EVP_KDF_CTX, decltype(&EVP_KDF_CTX_free)> ctx{EVP_KDF_CTX_new(kdf.get()),
                                                                &EVP_KDF_CTX_free};
  if (!ctx) throw std::runtime_error("EVP_KDF_CTX_new failed");
  // The master key is uniformly random already, so HKDF needs no salt (RFC 5869 §3.1).
  char digest[] = "SHA256";
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, digest, 0),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, const_cast<char*>(master.data()), master.size()),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, const_cast<char*>(label.data()), label.size()),
      OSSL_PARAM_construct_end()};
  std::array<unsigned char, MasterKey::kSize> out{};
  if (EVP_KDF_derive(ctx.get(), out.data(), out.size(), params) != 1) throw std::runtime_error("HKDF failed");
  return out;
}

/// Authenticated data of a ciphertext: its version byte and its context.
std::string associated_data(unsigned char version, std::string_view context) {
  std::string aad(1, static_cast<char>(version));
  aad += context;
  return aad;
}

}  // namespace

std::string random_bytes(std::size_t n) {
  std::string out(n, '\0');
  if (n > 0 && RAND_bytes(bytes(out), checked_int(n)) != 1) throw std::runtime_error("RAND_bytes failed");
  return out;
}

std::string random_token(std::size_t n) { return base64url_encode(random_bytes(n)); }

std::string unique_id_bytes(std::size_t n) {
  thread_local std::mt19937_64 generator = [] {
    auto seed = random_bytes(32);
    std::array<std::uint32_t, 8> words{};
    std::memcpy(words.data(), seed.data(), seed.size());
    std::seed_seq sequence(words.begin(), words.end());
    return std::mt19937_64(sequence);
  }();
  std::string out(n, '\0');
  for (std::size_t at = 0; at < n; at += sizeof(std::uint64_t)) {
    auto word = generator();
    std::memcpy(out.data() + at, &word, std::min(sizeof(word), n - at));
  }
  return out;
}

std::string unique_id_token(std::size_t bytes) { return base64url_encode(unique_id_bytes(bytes)); }

std::string base64_encode(std::string_view data) { return encode(data, kBase64, true); }
std::optional<std::string> base64_decode(std::string_view text) { return decode(text, kBase64, true); }
std::string base64url_encode(std::string_view data) { return encode(data, kBase64Url, false); }
std::optional<std::string> base64url_decode(std::string_view text) { return decode(text, kBase64Url, false); }

std::string hex(std::string_view data) {
  constexpr std::string_view kDigits = "0123456789abcdef";
  std::string out;
  out.reserve(data.size() * 2);
  for (unsigned char c : data) {
    out += kDigits[c >> 4];
    out += kDigits[c & 15];
  }
  return out;
}

std::string sha256(std::string_view data) {
  std::string out(EVP_MAX_MD_SIZE, '\0');
  unsigned int size = 0;
  if (EVP_Digest(data.data(), data.size(), bytes(out), &size, EVP_sha256(), nullptr) != 1) {
    throw std::runtime_error("SHA-256 failed");
  }
  out.resize(size);
  return out;
}

std::string hmac_sha256(std::string_view key, std::string_view data) {
  // OpenSSL reads a null key pointer as no key at all, but an empty key is still a key.
  static constexpr unsigned char kNoKey = 0;
  std::string out(EVP_MAX_MD_SIZE, '\0');
  unsigned int size = 0;
  if (HMAC(EVP_sha256(), key.empty() ? &kNoKey : bytes(key), checked_int(key.size()), bytes(data),
           data.size(), bytes(out), &size) == nullptr) {
    throw std::runtime_error("HMAC-SHA256 failed");
  }
  out.resize(size);
  return out;
}

bool constant_time_equal(std::string_view a, std::string_view b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

class MasterKey::KeyedHash {
 public:
  explicit KeyedHash(const std::array<unsigned char, kSize>& key) {
    std::unique_ptr<EVP_MAC, decltype(&EVP_MAC_free)> mac(EVP_MAC_fetch(nullptr, "HMAC", nullptr),
                                                          &EVP_MAC_free);
    if (!mac) throw std::runtime_error("OpenSSL has no HMAC");
    keyed_.reset(EVP_MAC_CTX_new(mac.get()));
    char digest[] = "SHA256";
    OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
                           OSSL_PARAM_construct_end()};
    if (!keyed_ || EVP_MAC_init(keyed_.get(), key.data(), key.size(), params) != 1) {
      throw std::runtime_error("HMAC-SHA256 could not be keyed");
    }
  }

  /// Thread-safe: each call works on its own copy of the keyed state.
  std::string mac(std::string_view data) const {
    std::unique_ptr<EVP_MAC_CTX, decltype(&EVP_MAC_CTX_free)> ctx(EVP_MAC_CTX_dup(keyed_.get()),
                                                                  &EVP_MAC_CTX_free);
    std::string out(EVP_MAX_MD_SIZE, '\0');
    std::size_t size = 0;
    if (!ctx || EVP_MAC_update(ctx.get(), bytes(data), data.size()) != 1 ||
        EVP_MAC_final(ctx.get(), bytes(out), &size, out.size()) != 1) {
      throw std::runtime_error("HMAC-SHA256 failed");
    }
    out.resize(size);
    return out;
  }

 private:
  std::unique_ptr<EVP_MAC_CTX, decltype(&EVP_MAC_CTX_free)> keyed_{nullptr, &EVP_MAC_CTX_free};
};

MasterKey::MasterKey(std::string_view raw) {
  if (raw.size() != kSize) throw std::invalid_argument("the master key must be exactly 32 bytes");
  hash_key_ = derive(raw, kApiKeyHashLabel);
  encryption_key_ = derive(raw, kCredentialLabel);
  keyed_hash_ = std::make_shared<const KeyedHash>(hash_key_);
}

MasterKey::~MasterKey() {
  OPENSSL_cleanse(hash_key_.data(), hash_key_.size());
  OPENSSL_cleanse(encryption_key_.data(), encryption_key_.size());
}

std::string MasterKey::api_key_hash(std::string_view secret) const { return keyed_hash_->mac(secret); }

std::string MasterKey::encrypt(std::string_view plaintext, std::string_view context) const {
  std::string out(1 + kNonceSize + plaintext.size() + kTagSize, '\0');
  out[0] = static_cast<char>(kCiphertextVersion);
  // A random 96-bit nonce is safe for far more messages than a gateway's credentials will ever see.
  std::string nonce = random_bytes(kNonceSize);
  out.replace(1, kNonceSize, nonce);
  std::string aad = associated_data(kCiphertextVersion, context);

  auto ctx = new_cipher_ctx();
  unsigned char* body = bytes(out) + 1 + kNonceSize;
  int len = 0;
  bool ok =
      EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, encryption_key_.data(), bytes(nonce)) == 1 &&
      EVP_EncryptUpdate(ctx.get(), nullptr, &len, bytes(aad), checked_int(aad.size())) == 1 &&
      (plaintext.empty() ||
       EVP_EncryptUpdate(ctx.get(), body, &len, bytes(plaintext), checked_int(plaintext.size())) == 1) &&
      EVP_EncryptFinal_ex(ctx.get(), body + plaintext.size(), &len) == 1 &&
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, static_cast<int>(kTagSize),
                          body + plaintext.size()) == 1;
  if (!ok) throw std::runtime_error("AES-256-GCM encryption failed");
  return out;
}

std::optional<std::string> MasterKey::decrypt(std::string_view ciphertext, std::string_view context) const {
  if (ciphertext.size() < 1 + kNonceSize + kTagSize) return std::nullopt;
  auto version = static_cast<unsigned char>(ciphertext[0]);
  if (version != kCiphertextVersion) return std::nullopt;
  std::string_view nonce = ciphertext.substr(1, kNonceSize);
  std::string_view body = ciphertext.substr(1 + kNonceSize, ciphertext.size() - 1 - kNonceSize - kTagSize);
  std::string tag{ciphertext.substr(ciphertext.size() - kTagSize)};
  std::string aad = associated_data(version, context);

  auto ctx = new_cipher_ctx();
  std::string out(body.size(), '\0');
  int len = 0;
  bool ok =
      EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, encryption_key_.data(), bytes(nonce)) == 1 &&
      EVP_DecryptUpdate(ctx.get(), nullptr, &len, bytes(aad), checked_int(aad.size())) == 1 &&
      (body.empty() ||
       EVP_DecryptUpdate(ctx.get(), bytes(out), &len, bytes(body), checked_int(body.size())) == 1) &&
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, static_cast<int>(kTagSize), tag.data()) == 1 &&
      EVP_DecryptFinal_ex(ctx.get(), bytes(out) + body.size(), &len) == 1;
  if (!ok) {
    OPENSSL_cleanse(out.data(), out.size());
    return std::nullopt;
  }
  return out;
}

std::string generate_api_key() { return std::string(kApiKeyPrefix) + random_token(32); }

std::string api_key_prefix(std::string_view secret) {
  return std::string(secret.substr(0, std::min(kApiKeyDisplayLength, secret.size() / 2)));
}

std::string hash_password(std::string_view password) {
  std::string salt = random_bytes(kArgonSaltSize);
  std::string encoded(argon2_encodedlen(kArgonTimeCost, kArgonMemoryKib, kArgonLanes, kArgonSaltSize,
                                        kArgonHashSize, Argon2_id),
                      '\0');
  int rc =
      argon2id_hash_encoded(kArgonTimeCost, kArgonMemoryKib, kArgonLanes, password.data(), password.size(),
                            salt.data(), salt.size(), kArgonHashSize, encoded.data(), encoded.size());
  if (rc != ARGON2_OK) throw std::runtime_error(std::string("Argon2id failed: ") + argon2_error_message(rc));
  encoded.resize(encoded.find('\0'));
  return encoded;
}

bool password_hash_is_current(std::string_view encoded) {
  auto current = "$argon2id$v=19$m=" + std::to_string(kArgonMemoryKib) +
                 ",t=" + std::to_string(kArgonTimeCost) + ",p=" + std::to_string(kArgonLanes) + "$";
  return encoded.substr(0, current.size()) == current;
}

bool verify_password(std::string_view password, std::string_view encoded) {
  // libargon2 reads a C string: an embedded NUL would let it check a prefix of what is stored.
  if (encoded.find('\0') != std::string_view::npos) return false;
  std::string terminated{encoded};
  return argon2id_verify(terminated.c_str(), password.data(), password.size()) == ARGON2_OK;
}

}  // namespace switchyard::crypto
