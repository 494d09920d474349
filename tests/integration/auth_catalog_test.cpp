#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <vector>

#include "integration/auth_fixture.hpp"
#include "support/test_env.hpp"
#include "switchyard/auth/catalog.hpp"
#include "switchyard/auth/changes.hpp"
#include "switchyard/auth/key_cache.hpp"
#include "switchyard/store/postgres_pool.hpp"

namespace switchyard::auth {
namespace {

using namespace std::chrono_literals;
using namespace fixture;
using switchyard::testing::eventually;
using switchyard::testing::IoThread;

class CatalogTest : public ::testing::Test {
 protected:
  void SetUp() override { migrate_and_seed(db_.url()); }

  static DatabaseConfig config(const std::string& url) {
    DatabaseConfig c;
    c.url = url;
    c.pool_size = 2;
    return c;
  }

  int status(const std::string& key, const std::string& alias, const std::string& capability) {
    return status_of(io_,
                     [](Catalog& catalog, KeyCache& keys, std::string k, std::string a,
                        std::string c) -> boost::asio::awaitable<void> {
                       auto principal = co_await keys.authenticate(k);
                       co_await catalog.resolve(*principal, a, c);
                     }(catalog_, keys_, key, alias, capability));
  }

  std::shared_ptr<const ModelInfo> resolve(const std::string& key, const std::string& alias,
                                           const std::string& capability) {
    auto principal = io_.run(keys_.authenticate(key));
    return io_.run(catalog_.resolve(*principal, alias, capability));
  }

  switchyard::testing::ScratchDatabase db_;
  postgres::Pool pool_{config(db_.url())};
  KeyCache keys_{pool_, master_key()};
  Catalog catalog_{pool_, master_key()};
  ChangeListener listener_{db_.url(),
                           {[this](const Change& change) {
                              keys_.apply(change);
                              catalog_.apply(change);
                            },
                            [this] {
                              keys_.resync();
                              catalog_.resync();
                            }}};
  IoThread io_;
};

TEST_F(CatalogTest, ResolvesAliasToModelAndProvider) {
  auto model = resolve(kAcmeKey, "chat-model", "chat");
  EXPECT_EQ(model->alias, "chat-model");
  EXPECT_EQ(model->upstream_model, "chat-model");
  EXPECT_EQ(model->prices.input_per_mtok, 150'000);
  EXPECT_EQ(model->prices.output_per_mtok, 600'000);
  EXPECT_EQ(model->prices.cached_input_per_mtok, 150'000);
  ASSERT_TRUE(model->provider);
  EXPECT_EQ(model->provider->name, "up");
  EXPECT_EQ(model->provider->type, "openai");
  EXPECT_EQ(model->provider->base_url, "http://127.0.0.1:9/v1");
  EXPECT_EQ(model->provider->credentials.value("api_key", ""), "sk-upstream-secret");
  EXPECT_DOUBLE_EQ(model->provider->timeout_s, 30);
  EXPECT_TRUE(model->provider->verify_tls);
  EXPECT_FALSE(model->provider->settings.contains("api_key")) << "secrets stay out of the settings";
}

TEST_F(CatalogTest, GrantsAndCapabilities) {
  EXPECT_EQ(status(kAcmeKey, "embed-model", "embeddings"), 404) << "not granted to acme";
  EXPECT_EQ(status(kAcmeKey, "nope", "chat"), 404);
  EXPECT_EQ(status(kOpenKey, "off-model", "chat"), 404) << "disabled";
  EXPECT_EQ(status(kOpenKey, "embed-model", "chat"), 400) << "no chat capability";
  EXPECT_EQ(status(kOpenKey, "embed-model", "embeddings"), 0);

  auto open = io_.run(keys_.authenticate(kOpenKey));
  std::vector<std::string> aliases;
  for (const auto& m : io_.run(catalog_.models_for(*open))) aliases.push_back(m->alias);
  EXPECT_THAT(aliases, ::testing::ElementsAre("chat-model", "embed-model"));
}

TEST_F(CatalogTest, ConcurrentFirstLoadsShareOneQuery) {
  IoThread other;
  std::vector<std::future<std::shared_ptr<const CatalogSnapshot>>> calls;
  for (int i = 0; i < 40; ++i) calls.push_back((i % 2 ? io_ : other).spawn(catalog_.snapshot()));
  for (auto& call : calls) EXPECT_EQ(call.get()->models.size(), 3u);
  EXPECT_EQ(catalog_.loads(), 1u);
}

TEST_F(CatalogTest, CatalogueAndGrantChangesApplyWithinASecond) {
  ASSERT_TRUE(eventually([&] { return listener_.connected(); }));
  ASSERT_EQ(status(kOpenKey, "chat-model", "chat"), 0);
  ASSERT_EQ(status(kAcmeKey, "embed-model", "embeddings"), 404);

  execute(db_.url(), "UPDATE models SET enabled = false WHERE alias = 'chat-model'");
  EXPECT_TRUE(eventually([&] { return status(kOpenKey, "chat-model", "chat") == 404; }, 1s));

  execute(db_.url(),
          "INSERT INTO tenant_models (tenant_id, model_id) SELECT t.id, m.id FROM tenants t, models m "
          "WHERE t.name = 'acme' AND m.alias = 'embed-model'");
  EXPECT_TRUE(eventually([&] { return status(kAcmeKey, "embed-model", "embeddings") == 0; }, 1s));

  execute(db_.url(), "UPDATE providers SET enabled = false WHERE name = 'demo'");
  EXPECT_TRUE(eventually([&] { return status(kAcmeKey, "embed-model", "embeddings") == 404; }, 1s));
}

}  // namespace
}  // namespace switchyard::auth
