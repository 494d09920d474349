#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <memory>
#include <string_view>

#include "store/redis/protocol.hpp"

namespace switchyard::redis {
namespace {

using ::testing::ElementsAre;
using namespace std::string_view_literals;

RedisEndpoint endpoint(std::string password, int db) {
  RedisEndpoint out;
  out.host = "localhost";
  out.password = std::move(password);
  out.db = db;
  return out;
}

/// Parses raw RESP with hiredis' own reader, as the connection does, and converts the reply.
Reply parse(std::string_view resp) {
  std::unique_ptr<redisReader, decltype(&redisReaderFree)> reader(redisReaderCreate(), &redisReaderFree);
  EXPECT_EQ(redisReaderFeed(reader.get(), resp.data(), resp.size()), REDIS_OK);
  void* raw = nullptr;
  EXPECT_EQ(redisReaderGetReply(reader.get(), &raw), REDIS_OK);
  EXPECT_NE(raw, nullptr) << "incomplete reply: " << resp;
  if (raw == nullptr) return {};
  std::unique_ptr<redisReply, decltype(&freeReplyObject)> reply(static_cast<redisReply*>(raw),
                                                                &freeReplyObject);
  return to_reply(*reply);
}

TEST(RedisReply, Status) {
  auto reply = parse("+OK\r\n");
  EXPECT_EQ(reply.type, Reply::Type::status);
  EXPECT_EQ(reply.text, "OK");
}

TEST(RedisReply, Error) {
  auto reply = parse("-WRONGTYPE Operation against a key holding the wrong kind of value\r\n");
  EXPECT_EQ(reply.type, Reply::Type::error);
  EXPECT_EQ(reply.text, "WRONGTYPE Operation against a key holding the wrong kind of value");
}

TEST(RedisReply, Integers) {
  EXPECT_EQ(parse(":42\r\n").integer, 42);
  EXPECT_EQ(parse(":-7\r\n").integer, -7);
  auto largest = parse(":9223372036854775807\r\n");
  EXPECT_EQ(largest.type, Reply::Type::integer);
  EXPECT_EQ(largest.integer, INT64_MAX);
}

TEST(RedisReply, BinarySafeString) {
  auto reply = parse("$5\r\na\0b\r\n\r\n"sv);
  EXPECT_EQ(reply.type, Reply::Type::string);
  EXPECT_EQ(reply.text, "a\0b\r\n"sv);
}

TEST(RedisReply, EmptyStringIsNotNil) {
  auto reply = parse("$0\r\n\r\n");
  EXPECT_EQ(reply.type, Reply::Type::string);
  EXPECT_EQ(reply.text, "");
}

TEST(RedisReply, NilBulkAndNilArray) {
  EXPECT_EQ(parse("$-1\r\n").type, Reply::Type::nil);
  EXPECT_EQ(parse("*-1\r\n").type, Reply::Type::nil);
}

TEST(RedisReply, NestedArray) {
  auto reply = parse("*3\r\n$1\r\na\r\n*2\r\n:1\r\n$-1\r\n*0\r\n");
  ASSERT_EQ(reply.type, Reply::Type::array);
  ASSERT_EQ(reply.elements.size(), 3u);
  EXPECT_EQ(reply.elements[0].text, "a");
  ASSERT_EQ(reply.elements[1].type, Reply::Type::array);
  ASSERT_EQ(reply.elements[1].elements.size(), 2u);
  EXPECT_EQ(reply.elements[1].elements[0].integer, 1);
  EXPECT_EQ(reply.elements[1].elements[1].type, Reply::Type::nil);
  EXPECT_EQ(reply.elements[2].type, Reply::Type::array);
  EXPECT_TRUE(reply.elements[2].elements.empty());
}

TEST(RedisHandshake, PingAloneByDefault) {
  EXPECT_THAT(handshake_commands(endpoint("", 0)), ElementsAre(Command{"PING"}));
}

TEST(RedisHandshake, AuthThenSelectThenPing) {
  EXPECT_THAT(handshake_commands(endpoint("s3cret", 4)),
              ElementsAre(Command{"AUTH", "s3cret"}, Command{"SELECT", "4"}, Command{"PING"}));
}

TEST(RedisHandshake, SelectWithoutPassword) {
  EXPECT_THAT(handshake_commands(endpoint("", 2)), ElementsAre(Command{"SELECT", "2"}, Command{"PING"}));
}

TEST(RedisCommandCheck, OrdinaryCommandsPass) {
  EXPECT_EQ(unsupported_command({"GET", "k"}), std::nullopt);
  EXPECT_EQ(unsupported_command({"EVALSHA", "abc", "0"}), std::nullopt);
  EXPECT_EQ(unsupported_command({"CLIENT", "LIST"}), std::nullopt);
  EXPECT_EQ(unsupported_command({"BLPOP", "k", "1"}), std::nullopt);
}

TEST(RedisCommandCheck, EmptyCommandIsRefused) { EXPECT_NE(unsupported_command({}), std::nullopt); }

TEST(RedisCommandCheck, ConnectionStateCommandsAreRefusedInAnyCase) {
  for (const char* verb : {"subscribe", "PSUBSCRIBE", "SSubscribe", "unsubscribe", "MONITOR", "HELLO", "QUIT",
                           "select", "MULTI", "exec", "WATCH", "RESET"}) {
    EXPECT_NE(unsupported_command({verb, "x"}), std::nullopt) << verb;
  }
  auto why = unsupported_command({"client", "reply", "off"});
  ASSERT_NE(why, std::nullopt);
  EXPECT_NE(why->find("CLIENT REPLY"), std::string::npos) << *why;
}

TEST(RedisScriptCommand, KeysCountThenKeysThenArgs) {
  EXPECT_EQ(encode_script_command("EVALSHA", "abc", {"k1", "k2"}, {"a1"}),
            encode_command({"EVALSHA", "abc", "2", "k1", "k2", "a1"}));
  EXPECT_EQ(encode_script_command("EVAL", "return 1", {}, {}), encode_command({"EVAL", "return 1", "0"}));
}

TEST(RedisEncodeCommand, MatchesHiredisOwnFormatting) {
  std::string binary("a\0b\r\n", 5);
  for (const Command& command : {Command{"PING"}, Command{"SET", "key", ""}, Command{"SET", binary, "é"},
                                 Command{"EVALSHA", "abc", "2", "k1", "k2", std::string(300, 'x')}}) {
    std::vector<const char*> argv;
    std::vector<std::size_t> lengths;
    for (const auto& arg : command) {
      argv.push_back(arg.data());
      lengths.push_back(arg.size());
    }
    char* formatted = nullptr;
    auto length =
        redisFormatCommandArgv(&formatted, static_cast<int>(command.size()), argv.data(), lengths.data());
    ASSERT_GT(length, 0);
    std::string expected(formatted, static_cast<std::size_t>(length));
    redisFreeCommand(formatted);
    EXPECT_EQ(encode_command(command), expected) << command.front();
  }
  EXPECT_EQ(encode_command({"GET", "k"}), "*2\r\n$3\r\nGET\r\n$1\r\nk\r\n");
}

TEST(RedisScriptCommand, NoscriptIsRecognised) {
  EXPECT_TRUE(is_noscript(parse("-NOSCRIPT No matching script. Please use EVAL.\r\n")));
  EXPECT_FALSE(is_noscript(parse("-ERR Error running script\r\n")));
  EXPECT_FALSE(is_noscript(parse("+NOSCRIPT\r\n")));
  EXPECT_FALSE(is_noscript(parse("$8\r\nNOSCRIPT\r\n")));
}

}  // namespace
}  // namespace switchyard::redis
