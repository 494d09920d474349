#pragma once

#include <array>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

/// Randomness, encodings, hashes, and the secrets Switchyard keeps: API keys, passwords and provider
/// credentials. Byte strings are `std::string`s holding raw bytes. Every function is thread-safe.
namespace switchyard::crypto {

/// `n` bytes from OpenSSL's CSPRNG. Throws std::runtime_error when it cannot supply them.
std::string random_bytes(std::size_t n);

/// `bytes` random bytes as unpadded base64url text, safe in URLs, headers and file names.
std::string random_token(std::size_t bytes = 32);

/// `n` bytes for ids that must be unique but need not be secret (usage rows, admissions): a per-thread
/// generator seeded once from the CSPRNG with 256 bits, so that no two threads or processes share a stream.
/// Costs nanoseconds where random_bytes() costs a system call; never use it for keys, tokens or nonces.
std::string unique_id_bytes(std::size_t n);

/// unique_id_bytes() as unpadded base64url text.
std::string unique_id_token(std::size_t bytes = 16);

/// Standard base64 (RFC 4648 §4) with `=` padding.
std::string base64_encode(std::string_view data);
/// Strict inverse of base64_encode: padding required, no whitespace, no stray bits; else nullopt.
std::optional<std::string> base64_decode(std::string_view text);

/// URL-safe base64 (RFC 4648 §5) without padding.
std::string base64url_encode(std::string_view data);
/// Inverse of base64url_encode; also accepts `=` padding. Malformed input → nullopt.
std::optional<std::string> base64url_decode(std::string_view text);

/// Lowercase hexadecimal.
std::string hex(std::string_view data);

/// SHA-256 digest: 32 raw bytes.
std::string sha256(std::string_view data);

/// HMAC-SHA256 (RFC 2104): 32 raw bytes.
std::string hmac_sha256(std::string_view key, std::string_view data);

/// Equality whose time depends only on the lengths, never on where the contents differ.
bool constant_time_equal(std::string_view a, std::string_view b);

/// The secret behind SWITCHYARD_MASTER_KEY. It never touches data itself: two sub-keys derived from it
/// (HKDF-SHA256, one label each) key the API-key hashes and encrypt provider credentials, so neither use
/// can leak into the other. Immutable, so safe to share between threads.
class MasterKey {
 public:
  static constexpr std::size_t kSize = 32;

  /// From the 32 raw bytes of the master key; throws std::invalid_argument on any other size.
  explicit MasterKey(std::string_view raw);
  ~MasterKey();
  MasterKey(const MasterKey&) = default;
  MasterKey& operator=(const MasterKey&) = default;

  /// HMAC-SHA256 of an API key's plaintext under the hashing sub-key: 32 raw bytes. Deterministic, so
  /// it can be looked up; keyed, so a leaked table cannot be checked against guesses offline.
  std::string api_key_hash(std::string_view secret) const;

  /// AES-256-GCM under the encryption sub-key with a fresh random nonce. `context` is authenticated but
  /// not stored: it binds the ciphertext to its place (e.g. "provider:<name>"), so it cannot be moved to
  /// another row. Output: version byte, 12-byte nonce, ciphertext, 16-byte tag.
  std::string encrypt(std::string_view plaintext, std::string_view context) const;

  /// The plaintext of `encrypt(plaintext, context)`; nullopt when the ciphertext was altered or
  /// truncated, its version is unknown, or `context` differs.
  std::optional<std::string> decrypt(std::string_view ciphertext, std::string_view context) const;

 private:
  /// HMAC state already keyed with the hashing sub-key: OpenSSL 3's one-shot HMAC looks the digest up by
  /// name on every call, which cost more than the hash itself on each request's key lookup.
  class KeyedHash;

  std::array<unsigned char, kSize> hash_key_{};
  std::array<unsigned char, kSize> encryption_key_{};
  std::shared_ptr<const KeyedHash> keyed_hash_;
};

/// A new API key: "sk-sy-" followed by 256 random bits as base64url (49 characters in all).
std::string generate_api_key();

/// What may be shown of a key once it is stored: its first 12 characters ("sk-sy-" and 6 random ones,
/// 36 bits: enough to tell keys apart, far too few to help guess the rest), but never more than half of a
/// short secret.
std::string api_key_prefix(std::string_view secret);

/// An Argon2id hash of `password` with a random salt, in the PHC string format ("$argon2id$v=19$...").
std::string hash_password(std::string_view password);

/// Whether an encoded hash uses today's parameters; an older one should be redone at the next login.
bool password_hash_is_current(std::string_view encoded);

/// Whether `password` matches an encoded hash from hash_password; false on a malformed hash.
bool verify_password(std::string_view password, std::string_view encoded);

}  // namespace switchyard::crypto
