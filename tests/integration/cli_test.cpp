#include <gtest/gtest.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include "binary_support.hpp"
#include "support/test_env.hpp"
#include "switchyard/jwt_orgs/token.hpp"

namespace switchyard::testing {
namespace {

using nlohmann::json;

std::string trimmed(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  return text;
}

std::string pem_of(EVP_PKEY* key, bool private_part) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), &BIO_free);
  if (private_part) {
    PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr);
  } else {
    PEM_write_bio_PUBKEY(bio.get(), key);
  }
  char* data = nullptr;
  auto size = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(size));
}

/// The management verbs (spec 002's scripts) as an operator runs them: exit statuses, output, what they
/// store.
class ManagementVerbs : public ::testing::Test {
 protected:
  void SetUp() override {
    env_ = {{"SWITCHYARD_DATABASE_URL", database_.url()}, {"SWITCHYARD_MASTER_KEY", kTestMasterKey}};
    ASSERT_EQ(run_to_end(kBinary, {"migrate"}, env_).status, 0);
    auto seed = dir_.path() / "seed.yaml";
    std::ofstream(seed)
        << "providers:\n  - {name: upstream, type: openai, base_url: \"http://127.0.0.1:9/v1\"}\n";
    ASSERT_EQ(run_to_end(kBinary, {"seed", seed.string()}, env_).status, 0);
  }

  Completed cli(const std::vector<std::string>& arguments) { return run_to_end(kBinary, arguments, env_); }

  std::string tenant(const std::string& name) {
    auto created = cli({"tenant", "create", name});
    EXPECT_EQ(created.status, 0) << created.output;
    return json::parse(created.output)["id"].get<std::string>();
  }

  std::string file(const std::string& name, const std::string& content) {
    auto path = dir_.path() / name;
    std::ofstream(path) << content;
    return path.string();
  }

  pqxx::result query(const std::string& sql) {
    pqxx::connection connection(database_.url());
    pqxx::nontransaction tx(connection);
    return tx.exec(sql);
  }

  ScratchDatabase database_;
  TempDir dir_;
  std::map<std::string, std::string> env_;
};

TEST_F(ManagementVerbs, TenantsAreCreatedAndListedAndBadCommandLinesExit2) {
  auto created = cli(
      {"tenant", "create", "acme", "--budget-usd", "12.5", "--rpm", "60", "--tpm=1000", "--parallel", "3"});
  ASSERT_EQ(created.status, 0) << created.output;
  auto id = json::parse(created.output)["id"].get<std::string>();
  auto row =
      query("SELECT name, kind, budget_micros, rpm, tpm, parallel FROM tenants WHERE id = '" + id + "'");
  ASSERT_EQ(row.size(), 1u);
  EXPECT_EQ(row[0][0].as<std::string>(), "acme");
  EXPECT_EQ(row[0][1].as<std::string>(), "shared");
  EXPECT_EQ(row[0][2].as<std::int64_t>(), 12'500'000);
  EXPECT_EQ(row[0][3].as<int>(), 60);
  EXPECT_EQ(row[0][4].as<int>(), 1000);
  EXPECT_EQ(row[0][5].as<int>(), 3);

  auto listed = cli({"tenant", "list"});
  ASSERT_EQ(listed.status, 0);
  EXPECT_NE(listed.output.find(id), std::string::npos);
  EXPECT_NE(listed.output.find("12.5"), std::string::npos);

  EXPECT_EQ(cli({"tenant", "create", "acme"}).status, 1) << "names are unique";
  EXPECT_EQ(cli({"tenant", "create"}).status, 2);
  EXPECT_EQ(cli({"tenant", "create", "x", "--rpm", "many"}).status, 2);
  EXPECT_EQ(cli({"tenant", "create", "x", "--budget-usd", "-1"}).status, 2);
  EXPECT_EQ(cli({"tenant", "create", "x", "--colour", "red"}).status, 2);
  EXPECT_EQ(cli({"tenant", "rename", "acme"}).status, 2);
  EXPECT_EQ(cli({"tenant", "jwt", "nobody", "--hs256-generate"}).status, 1);
  EXPECT_EQ(query("SELECT 1 FROM tenants WHERE name = 'x'").size(), 0u);

  auto no_key = run_to_end(kBinary, {"tenant", "list"}, {{"SWITCHYARD_DATABASE_URL", database_.url()}});
  EXPECT_EQ(no_key.status, 2) << no_key.output;
}

TEST_F(ManagementVerbs, Hs256SecretsAreSealedAndMintedTokensVerifyWithThem) {
  auto id = tenant("acme");
  EXPECT_EQ(cli({"tenant", "jwt", "acme", "--hs256-secret", "too-short"}).status, 2);
  EXPECT_EQ(cli({"tenant", "jwt", "acme", "--hs256-generate", "--off"}).status, 2);
  EXPECT_EQ(cli({"jwt", "mint", "--tenant", "acme"}).status, 1) << "no JWT settings yet";

  auto generated = cli({"tenant", "jwt", id, "--hs256-generate"});
  ASSERT_EQ(generated.status, 0) << generated.output;
  auto secret = json::parse(generated.output)["hs256_secret"].get<std::string>();
  ASSERT_GE(secret.size(), 32u);
  auto stored = query("SELECT encode(hs256_secret, 'escape'), algorithm FROM tenant_jwt_settings");
  ASSERT_EQ(stored.size(), 1u);
  EXPECT_EQ(stored[0][0].as<std::string>().find(secret), std::string::npos) << "stored in clear";
  EXPECT_EQ(stored[0][1].as<std::string>(), "HS256");

  auto minted = cli({"jwt", "mint", "--tenant", "acme", "--ttl-s", "120"});
  ASSERT_EQ(minted.status, 0) << minted.output;
  auto claims = jwt_orgs::verify_token(trimmed(minted.output), {jwt_orgs::Algorithm::hs256, secret});
  EXPECT_EQ(claims["org_id"], id);
  EXPECT_EQ(claims["org_name"], "acme");
  EXPECT_EQ(claims["exp"].get<std::int64_t>() - claims["iat"].get<std::int64_t>(), 120);
  EXPECT_EQ(cli({"jwt", "mint", "--tenant", "acme", "--ttl-s", "0"}).status, 2);
  EXPECT_EQ(cli({"jwt", "mint"}).status, 2);

  ASSERT_EQ(cli({"tenant", "jwt", "acme", "--off"}).status, 0);
  EXPECT_EQ(query("SELECT 1 FROM tenant_jwt_settings").size(), 0u);
  EXPECT_EQ(cli({"jwt", "mint", "--tenant", "acme"}).status, 1);
}

TEST_F(ManagementVerbs, Rs256TenantsKeepThePublicKeyAndMintWithThePrivateOne) {
  tenant("acme");
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(
      EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", std::size_t{2048}), &EVP_PKEY_free);
  auto public_pem = pem_of(key.get(), false);
  auto private_file = file("private.pem", pem_of(key.get(), true));
  EXPECT_EQ(cli({"tenant", "jwt", "acme", "--rs256-public-key", file("junk.pem", "not a key")}).status, 2);
  EXPECT_EQ(cli({"tenant", "jwt", "acme", "--rs256-public-key", private_file}).status, 2);
  auto set = cli({"tenant", "jwt", "acme", "--rs256-public-key", file("public.pem", public_pem)});
  ASSERT_EQ(set.status, 0) << set.output;
  EXPECT_EQ(json::parse(set.output)["algorithm"], "RS256");

  EXPECT_EQ(cli({"jwt", "mint", "--tenant", "acme"}).status, 2) << "RS256 needs the private key";
  auto minted = cli({"jwt", "mint", "--tenant", "acme", "--private-key", private_file});
  ASSERT_EQ(minted.status, 0) << minted.output;
  auto claims = jwt_orgs::verify_token(trimmed(minted.output), {jwt_orgs::Algorithm::rs256, public_pem});
  EXPECT_EQ(claims["org_name"], "acme");
}

TEST_F(ManagementVerbs, UsersAreMadeOncePerTenantAndExternalId) {
  tenant("acme");
  tenant("globex");
  auto first = cli({"user", "create", "acme", "user@example.com"});
  ASSERT_EQ(first.status, 0) << first.output;
  auto again = cli({"user", "create", "acme", "user@example.com"});
  ASSERT_EQ(again.status, 0);
  EXPECT_EQ(trimmed(first.output), trimmed(again.output));
  auto other = cli({"user", "create", "globex", "user@example.com"});
  ASSERT_EQ(other.status, 0);
  EXPECT_NE(trimmed(first.output), trimmed(other.output));

  auto listed = cli({"user", "list", "acme"});
  ASSERT_EQ(listed.status, 0);
  EXPECT_NE(listed.output.find(trimmed(first.output)), std::string::npos);
  EXPECT_EQ(listed.output.find(trimmed(other.output)), std::string::npos) << "another tenant's user";
  EXPECT_EQ(cli({"user", "create", "acme", " "}).status, 2);
  EXPECT_EQ(cli({"user", "create", "nobody", "u"}).status, 1);
  EXPECT_EQ(query("SELECT 1 FROM users WHERE password_hash IS NOT NULL").size(), 0u);
}

TEST_F(ManagementVerbs, ProviderKeysOfTenantsAndUsersAreStoredSealedListedMaskedAndDeleted) {
  tenant("acme");
  tenant("globex");
  auto user = trimmed(cli({"user", "create", "acme", "bob"}).output);
  auto outsider = trimmed(cli({"user", "create", "globex", "eve"}).output);
  ASSERT_EQ(cli({"key", "create", "acme", "upstream", "sk-tenant-secret-0123456789"}).status, 0);
  auto users = cli({"key", "create", "acme", "upstream", "sk-user-secret-0123456789", "--user-id", "bob"});
  ASSERT_EQ(users.status, 0) << users.output;
  EXPECT_EQ(json::parse(users.output)["user_id"], user);
  EXPECT_EQ(cli({"key", "create", "acme", "upstream", "sk-x-0123456789abcdef", "--user-id", outsider}).status,
            1)
      << "a user of another tenant";
  EXPECT_EQ(cli({"key", "create", "acme", "nowhere", "sk-x"}).status, 1);
  EXPECT_EQ(cli({"key", "create", "acme", "upstream"}).status, 2);

  auto sealed = query("SELECT encode(credentials, 'escape') FROM provider_keys");
  ASSERT_EQ(sealed.size(), 2u);
  for (const auto& row : sealed) EXPECT_EQ(row[0].as<std::string>().find("secret"), std::string::npos);

  auto listed = cli({"key", "list", "acme"});
  ASSERT_EQ(listed.status, 0);
  EXPECT_EQ(listed.output.find("sk-tenant-secret"), std::string::npos);
  EXPECT_NE(listed.output.find("...6789"), std::string::npos);
  EXPECT_NE(listed.output.find(user), std::string::npos);

  ASSERT_EQ(cli({"key", "create", "acme", "upstream", "sk-tenant-replaced-98765432"}).status, 0);
  EXPECT_EQ(query("SELECT 1 FROM provider_keys WHERE tenant_id IS NOT NULL").size(), 1u)
      << "replaced, not added";
  ASSERT_EQ(cli({"key", "delete", "acme", "upstream", "--user-id", user}).status, 0);
  EXPECT_EQ(cli({"key", "delete", "acme", "upstream", "--user-id", user}).status, 1);
  ASSERT_EQ(cli({"key", "delete", "acme", "upstream"}).status, 0);
  EXPECT_EQ(query("SELECT 1 FROM provider_keys").size(), 0u);
}

}  // namespace
}  // namespace switchyard::testing
