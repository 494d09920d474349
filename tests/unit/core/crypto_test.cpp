#include "switchyard/core/crypto.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace switchyard::crypto {
namespace {

std::string unhex(std::string_view text) {
  std::string out;
  for (std::size_t i = 0; i + 1 < text.size(); i += 2) {
    out += static_cast<char>(std::stoi(std::string(text.substr(i, 2)), nullptr, 16));
  }
  return out;
}

MasterKey test_key(char fill = 'k') { return MasterKey(std::string(MasterKey::kSize, fill)); }

struct HmacVector {
  std::string key;
  std::string data;
  std::string mac_hex;
};

// RFC 4231 §4, HMAC-SHA256 outputs; case 5 tests truncation, which we do not offer.
TEST(Crypto, HmacSha256MatchesRfc4231) {
  const HmacVector vectors[] = {
      {std::string(20, '\x0b'), "Hi There",
       "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"},
      {"Jefe", "what do ya want for nothing?",
       "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"},
      {std::string(20, '\xaa'), std::string(50, '\xdd'),
       "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe"},
      {unhex("0102030405060708090a0b0c0d0e0f10111213141516171819"), std::string(50, '\xcd'),
       "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b"},
      {std::string(131, '\xaa'), "Test Using Larger Than Block-Size Key - Hash Key First",
       "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"},
      {std::string(131, '\xaa'),
       "This is a test using a larger than block-size key and a larger than block-size data. The key needs "
       "to "
       "be hashed before being used by the HMAC algorithm.",
       "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2"},
  };
  for (const auto& v : vectors) EXPECT_EQ(hex(hmac_sha256(v.key, v.data)), v.mac_hex) << v.data;
}

TEST(Crypto, HmacWithEmptyKeyIsDefined) {
  EXPECT_EQ(hex(hmac_sha256("", "")), "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad");
}

TEST(Crypto, Sha256KnownVectors) {
  EXPECT_EQ(hex(sha256("abc")), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(hex(sha256("")), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST(Crypto, Base64MatchesRfc4648Vectors) {
  const std::pair<std::string, std::string> vectors[] = {{"", ""},
                                                         {"f", "Zg=="},
                                                         {"fo", "Zm8="},
                                                         {"foo", "Zm9v"},
                                                         {"foob", "Zm9vYg=="},
                                                         {"fooba", "Zm9vYmE="},
                                                         {"foobar", "Zm9vYmFy"}};
  for (const auto& [plain, encoded] : vectors) {
    EXPECT_EQ(base64_encode(plain), encoded);
    EXPECT_EQ(base64_decode(encoded), plain);
  }
}

TEST(Crypto, Base64RoundTripsEveryByte) {
  std::string all;
  for (int i = 0; i < 256; ++i) all += static_cast<char>(i);
  for (std::size_t n = 0; n <= all.size(); n += 37) {
    auto part = all.substr(0, n);
    EXPECT_EQ(base64_decode(base64_encode(part)), part);
    EXPECT_EQ(base64url_decode(base64url_encode(part)), part);
  }
}

TEST(Crypto, Base64RefusesMalformedInput) {
  for (const char* bad : {"Zg", "Zg=", "Z===", "Zm9v!", "Zm 9v", "Zm9v\n", "Zh==", "Zm9=", "=Zm9",
                          "Zg==Zg==", "Zm-_", "Zm9vY"}) {
    EXPECT_FALSE(base64_decode(bad).has_value()) << bad;
  }
}

TEST(Crypto, Base64UrlIsUnpaddedAndUrlSafe) {
  std::string data = "\xfb\xff\xbf";
  EXPECT_EQ(base64_encode(data), "+/+/");
  EXPECT_EQ(base64url_encode(data), "-_-_");
  EXPECT_EQ(base64url_encode("f"), "Zg");
  EXPECT_EQ(base64url_decode("Zg"), "f");
  EXPECT_EQ(base64url_decode("Zg=="), "f");
  EXPECT_FALSE(base64url_decode("Zg=").has_value());
  EXPECT_FALSE(base64url_decode("+/+/").has_value());
  EXPECT_FALSE(base64url_decode("Z").has_value());
}

TEST(Crypto, RandomTokensAreUrlSafeAndDistinct) {
  std::set<std::string> seen;
  for (int i = 0; i < 100; ++i) {
    auto token = random_token();
    EXPECT_EQ(token.size(), 43u);
    EXPECT_EQ(token.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"),
              std::string::npos);
    seen.insert(token);
  }
  EXPECT_EQ(seen.size(), 100u);
  EXPECT_EQ(random_bytes(0), "");
  EXPECT_EQ(random_bytes(7).size(), 7u);
}

TEST(Crypto, ConstantTimeEqual) {
  EXPECT_TRUE(constant_time_equal("", ""));
  EXPECT_TRUE(constant_time_equal("secret", "secret"));
  EXPECT_FALSE(constant_time_equal("secret", "secreT"));
  EXPECT_FALSE(constant_time_equal("secret", "secret2"));
}

TEST(MasterKey, RefusesAKeyOfTheWrongSize) {
  EXPECT_THROW(MasterKey(std::string(31, 'k')), std::invalid_argument);
  EXPECT_THROW(MasterKey(std::string(33, 'k')), std::invalid_argument);
}

TEST(MasterKey, EncryptionRoundTrips) {
  auto key = test_key();
  for (const std::string& plain : {std::string(), std::string("sk-upstream"), std::string(5000, '\0')}) {
    auto sealed = key.encrypt(plain, "provider:openai");
    EXPECT_EQ(sealed.size(), 1 + 12 + plain.size() + 16);
    EXPECT_EQ(key.decrypt(sealed, "provider:openai"), plain);
  }
}

TEST(MasterKey, EncryptingTwiceGivesDifferentCiphertexts) {
  auto key = test_key();
  EXPECT_NE(key.encrypt("same", "ctx"), key.encrypt("same", "ctx"));
}

TEST(MasterKey, AnyAlteredByteIsDetected) {
  auto key = test_key();
  auto sealed = key.encrypt("sk-upstream-secret", "provider:openai");
  for (std::size_t i = 0; i < sealed.size(); ++i) {
    auto altered = sealed;
    altered[i] = static_cast<char>(altered[i] ^ 0x01);
    EXPECT_FALSE(key.decrypt(altered, "provider:openai").has_value()) << "byte " << i;
  }
  EXPECT_FALSE(key.decrypt(sealed.substr(0, sealed.size() - 1), "provider:openai").has_value());
  EXPECT_FALSE(key.decrypt("", "provider:openai").has_value());
}

TEST(MasterKey, WrongContextOrKeyIsRefused) {
  auto key = test_key();
  auto sealed = key.encrypt("sk-upstream-secret", "provider:openai");
  EXPECT_FALSE(key.decrypt(sealed, "provider:azure").has_value());
  EXPECT_FALSE(key.decrypt(sealed, "").has_value());
  EXPECT_FALSE(test_key('x').decrypt(sealed, "provider:openai").has_value());
}

TEST(MasterKey, ApiKeyHashIsDeterministicAndKeyed) {
  auto key = test_key();
  auto secret = generate_api_key();
  EXPECT_EQ(key.api_key_hash(secret), test_key().api_key_hash(secret));
  EXPECT_EQ(key.api_key_hash(secret).size(), 32u);
  EXPECT_NE(key.api_key_hash(secret), test_key('x').api_key_hash(secret));
  EXPECT_NE(key.api_key_hash(secret), key.api_key_hash(secret + "x"));
  // The hashing sub-key is not the master key itself.
  EXPECT_NE(key.api_key_hash(secret), hmac_sha256(std::string(MasterKey::kSize, 'k'), secret));
}

TEST(MasterKey, ApiKeyHashIsTheSameFromManyThreadsAndCopies) {
  auto key = test_key();
  auto copy = key;
  auto secret = generate_api_key();
  auto expected = key.api_key_hash(secret);
  std::atomic<int> mismatches{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 500; ++i) {
        if (copy.api_key_hash(secret) != expected) ++mismatches;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(mismatches.load(), 0);
}

TEST(ApiKeys, GeneratedKeysHaveTheDocumentedShape) {
  auto secret = generate_api_key();
  ASSERT_EQ(secret.size(), 49u);
  EXPECT_EQ(secret.substr(0, 6), "sk-sy-");
  auto random = base64url_decode(secret.substr(6));
  ASSERT_TRUE(random.has_value());
  EXPECT_EQ(random->size(), 32u);
  EXPECT_NE(secret, generate_api_key());
}

TEST(ApiKeys, PrefixShowsTwelveCharactersButNeverHalfOfAShortSecret) {
  auto secret = generate_api_key();
  EXPECT_EQ(api_key_prefix(secret), secret.substr(0, 12));
  EXPECT_EQ(api_key_prefix("sk-sy-test-0123456789abcdef"), "sk-sy-test-0");
  EXPECT_EQ(api_key_prefix("abcdefgh"), "abcd");
  EXPECT_EQ(api_key_prefix(""), "");
}

TEST(Passwords, Argon2idVerifiesOnlyTheRightPassword) {
  auto encoded = hash_password("change-me-now");
  EXPECT_EQ(encoded.rfind("$argon2id$v=19$m=19456,t=2,p=1$", 0), 0u) << encoded;
  EXPECT_TRUE(verify_password("change-me-now", encoded));
  EXPECT_FALSE(verify_password("change-me-now!", encoded));
  EXPECT_FALSE(verify_password("", encoded));
  EXPECT_NE(encoded, hash_password("change-me-now"));
}

TEST(Passwords, MalformedHashesNeverVerify) {
  auto encoded = hash_password("pw");
  EXPECT_FALSE(verify_password("pw", ""));
  EXPECT_FALSE(verify_password("pw", "not a hash"));
  EXPECT_FALSE(verify_password("pw", encoded.substr(0, encoded.size() - 4)));
  EXPECT_FALSE(verify_password("pw", "$argon2i" + encoded.substr(9)));
  EXPECT_FALSE(verify_password("pw", encoded + std::string(1, '\0') + "tail"));
}

TEST(Crypto, UniqueIdsDoNotRepeatWithinOrAcrossThreads) {
  std::set<std::string> seen;
  std::mutex mutex;
  auto draw = [&] {
    for (int i = 0; i < 5000; ++i) {
      auto id = unique_id_bytes(16);
      std::lock_guard lock(mutex);
      EXPECT_TRUE(seen.insert(id).second);
    }
  };
  std::thread other(draw);
  draw();
  other.join();
  EXPECT_EQ(seen.size(), 10000u);
  EXPECT_EQ(unique_id_bytes(5).size(), 5u);
  EXPECT_EQ(unique_id_token(16).size(), 22u);
}

}  // namespace
}  // namespace switchyard::crypto
