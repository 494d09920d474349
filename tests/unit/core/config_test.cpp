#include "switchyard/core/config.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "switchyard/core/error.hpp"

namespace switchyard {
namespace {

// base64 of 32 zero bytes
constexpr const char* kMasterKey = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";

Environment required_env() {
  return {{"SWITCHYARD_DATABASE_URL", "postgresql://u:p@127.0.0.1:5432/db"},
          {"SWITCHYARD_REDIS_URL", "redis://127.0.0.1:6379"},
          {"SWITCHYARD_MASTER_KEY", kMasterKey}};
}

constexpr ConfigNeeds kAll{true, true, true};

class ConfigFile {
 public:
  explicit ConfigFile(const std::string& yaml)
      : path_(std::filesystem::temp_directory_path() /
              ("switchyard-config-" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) +
               "-" + std::to_string(counter_++) + ".yaml")) {
    std::ofstream(path_) << yaml;
  }
  ~ConfigFile() { std::filesystem::remove(path_); }
  std::string path() const { return path_.string(); }

 private:
  static inline int counter_ = 0;
  std::filesystem::path path_;
};

std::string error_of(const std::optional<std::string>& file, const Environment& env,
                     ConfigNeeds needs = kAll) {
  try {
    load_config(file, env, needs);
  } catch (const ConfigError& error) {
    return error.what();
  }
  return "";
}

TEST(Config, DefaultsApplyWhenNothingIsSet) {
  auto config = load_config(std::nullopt, required_env(), kAll);
  EXPECT_EQ(config.listen.host, "127.0.0.1");
  EXPECT_EQ(config.listen.port, 8090);
  EXPECT_EQ(config.data_dir, "var");
  EXPECT_EQ(config.server.max_body_bytes, 32u << 20);
  EXPECT_EQ(config.server.drain_timeout, std::chrono::seconds(30));
  EXPECT_EQ(config.server.static_dir, "web/dist");
  EXPECT_EQ(config.master_key, std::string(32, '\0'));
  EXPECT_EQ(config.redis.endpoint.host, "127.0.0.1");
  EXPECT_EQ(config.redis.endpoint.port, 6379);
  EXPECT_EQ(config.log.level, LogLevel::info);
}

TEST(Config, FileSetsValuesAndEnvironmentOverridesThem) {
  ConfigFile file(R"(
listen: 0.0.0.0:9000
server:
  max_body_mb: 4
  drain_timeout_s: 5
log:
  level: debug
database:
  pool_size: 3
)");
  auto env = required_env();
  env["SWITCHYARD_SERVER_MAX_BODY_MB"] = "2";
  env["SWITCHYARD_LISTEN"] = "127.0.0.2:7000";
  auto config = load_config(file.path(), env, kAll);
  EXPECT_EQ(config.listen.host, "127.0.0.2");
  EXPECT_EQ(config.listen.port, 7000);
  EXPECT_EQ(config.server.max_body_bytes, 2u << 20);
  EXPECT_EQ(config.server.drain_timeout, std::chrono::seconds(5));
  EXPECT_EQ(config.log.level, LogLevel::debug);
  EXPECT_EQ(config.database.pool_size, 3);
}

TEST(Config, RedisUrlWithPasswordAndDatabase) {
  auto env = required_env();
  env["SWITCHYARD_REDIS_URL"] = "redis://:s3cret@localhost:6380/2";
  auto config = load_config(std::nullopt, env, kAll);
  EXPECT_EQ(config.redis.endpoint.host, "localhost");
  EXPECT_EQ(config.redis.endpoint.port, 6380);
  EXPECT_EQ(config.redis.endpoint.password, "s3cret");
  EXPECT_EQ(config.redis.endpoint.db, 2);
}

TEST(Config, EachMissingRequiredSettingIsNamed) {
  for (const char* name : {"SWITCHYARD_DATABASE_URL", "SWITCHYARD_REDIS_URL", "SWITCHYARD_MASTER_KEY"}) {
    auto env = required_env();
    env.erase(name);
    EXPECT_NE(error_of(std::nullopt, env).find(name), std::string::npos) << name;
  }
}

TEST(Config, OnlyWhatACommandNeedsIsRequired) {
  Environment env = {{"SWITCHYARD_DATABASE_URL", "postgresql://u@h/db"}};
  EXPECT_NO_THROW(load_config(std::nullopt, env, ConfigNeeds{.database = true}));
  EXPECT_NO_THROW(load_config(std::nullopt, {}, ConfigNeeds{}));
}

TEST(Config, BadEnvironmentValuesNameTheVariable) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"SWITCHYARD_LISTEN", "nonsense"},
      {"SWITCHYARD_LISTEN", "127.0.0.1:99999"},
      {"SWITCHYARD_DATABASE_URL", "mysql://x"},
      {"SWITCHYARD_REDIS_URL", "http://127.0.0.1"},
      {"SWITCHYARD_REDIS_URL", "redis://127.0.0.1:0"},
      {"SWITCHYARD_MASTER_KEY", "not base64!"},
      {"SWITCHYARD_MASTER_KEY", "c2hvcnQ="},
      {"SWITCHYARD_SERVER_MAX_BODY_MB", "0"},
      {"SWITCHYARD_SERVER_MAX_BODY_MB", "12abc"},
      {"SWITCHYARD_SERVER_THREADS", "-1"},
      {"SWITCHYARD_SERVER_DRAIN_TIMEOUT_S", "soon"},
      {"SWITCHYARD_DATABASE_POOL_SIZE", "0"},
      {"SWITCHYARD_DATABASE_MIGRATE_ON_START", "maybe"},
      {"SWITCHYARD_LOG_LEVEL", "verbose"},
      {"SWITCHYARD_REDIS_COMMAND_TIMEOUT_MS", "0"},
  };
  for (const auto& [name, value] : cases) {
    auto env = required_env();
    env[name] = value;
    auto message = error_of(std::nullopt, env);
    EXPECT_EQ(message.rfind(name + ":", 0), 0u) << name << "=" << value << " gave: " << message;
    EXPECT_EQ(message.find('\n'), std::string::npos) << "one line: " << message;
  }
}

TEST(Config, BadFileValuesNameTheSetting) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"server:\n  max_body_mb: lots\n", "server.max_body_mb"},
      {"server:\n  unknown_knob: 1\n", "server.unknown_knob"},
      {"colour: blue\n", "colour"},
      {"server:\n  threads: [1, 2]\n", "server.threads"},
      {"log:\n  level: loud\n", "log.level"},
  };
  for (const auto& [yaml, setting] : cases) {
    ConfigFile file(yaml);
    auto message = error_of(file.path(), required_env());
    EXPECT_NE(message.find("'" + setting + "'"), std::string::npos) << yaml << " gave: " << message;
  }
}

TEST(Config, UnreadableOrMalformedFileIsAConfigError) {
  EXPECT_NE(error_of(std::string("/nonexistent/switchyard.yaml"), required_env())
                .find("/nonexistent/switchyard.yaml"),
            std::string::npos);
  ConfigFile broken("server: [unclosed\n");
  EXPECT_NE(error_of(broken.path(), required_env()).find(broken.path()), std::string::npos);
  ConfigFile list("- a\n- b\n");
  EXPECT_NE(error_of(list.path(), required_env()).find("mapping"), std::string::npos);
}

TEST(Config, EverySettingHasAnEnvironmentVariableAndADescription) {
  auto settings = known_settings();
  ASSERT_FALSE(settings.empty());
  for (const auto& setting : settings) {
    EXPECT_EQ(setting.env_var.rfind("SWITCHYARD_", 0), 0u);
    EXPECT_FALSE(setting.description.empty()) << setting.path;
  }
  auto has = [&](const std::string& env_var) {
    return std::any_of(settings.begin(), settings.end(), [&](const auto& s) { return s.env_var == env_var; });
  };
  for (const char* fixed : {"SWITCHYARD_LISTEN", "SWITCHYARD_DATABASE_URL", "SWITCHYARD_REDIS_URL",
                            "SWITCHYARD_MASTER_KEY", "SWITCHYARD_DATA_DIR"}) {
    EXPECT_TRUE(has(fixed)) << fixed;
  }
}

}  // namespace
}  // namespace switchyard

namespace switchyard {
namespace {

std::string read_text(const std::string& relative) {
  std::ifstream in(std::string(SWITCHYARD_SOURCE_DIR) + "/" + relative);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

TEST(ConfigDocs, TheExampleFileLoadsAndShowsEverySetting) {
  const std::string path = std::string(SWITCHYARD_SOURCE_DIR) + "/config/switchyard.example.yaml";
  EXPECT_NO_THROW(load_config(path, required_env(), kAll));
  auto text = read_text("config/switchyard.example.yaml");
  for (const auto& setting : known_settings()) {
    auto leaf = setting.path.substr(setting.path.rfind('.') + 1);
    EXPECT_NE(text.find(leaf + ":"), std::string::npos) << setting.path << " is missing from the example";
  }
}

TEST(ConfigDocs, TheReferenceNamesEverySettingAndItsVariable) {
  auto text = read_text("docs/configuration.md");
  for (const auto& setting : known_settings()) {
    EXPECT_NE(text.find("`" + setting.path + "`"), std::string::npos) << setting.path;
    EXPECT_NE(text.find("`" + setting.env_var + "`"), std::string::npos) << setting.env_var;
  }
}

}  // namespace
}  // namespace switchyard
