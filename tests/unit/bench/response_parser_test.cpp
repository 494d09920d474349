#include "response_parser.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace switchyard::bench {
namespace {

using State = ResponseParser::State;

// Feeds the bytes one at a time: every boundary a socket read could leave must parse the same.
std::size_t feed_bytewise(ResponseParser& p, std::string_view bytes) {
  std::size_t used = 0;
  for (char c : bytes) {
    if (p.state() == State::complete || p.state() == State::failed) break;
    used += p.feed(std::string_view(&c, 1));
  }
  return used;
}

TEST(ResponseParser, ContentLengthBodyAndWhatFollowsIsLeftOver) {
  ResponseParser p;
  const std::string wire = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX: y\r\n\r\nhelloHTTP/1.1";
  EXPECT_EQ(p.feed(wire), wire.size() - 8);
  EXPECT_EQ(p.state(), State::complete);
  EXPECT_EQ(p.status(), 200);
  EXPECT_EQ(p.body(), "hello");
  EXPECT_TRUE(p.keep_alive());
}

TEST(ResponseParser, ChunkedBodySplitAnywhere) {
  const std::string wire =
      "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n"
      "6;ext=1\r\ndata: \r\n"
      "11\r\n{\"a\":1}\n\ndata: [D\r\n"
      "5\r\nONE]\n\r\n"
      "0\r\nTrailer: x\r\n\r\n";
  ResponseParser whole;
  EXPECT_EQ(whole.feed(wire), wire.size());
  ResponseParser split;
  EXPECT_EQ(feed_bytewise(split, wire), wire.size());
  for (const auto* p : {&whole, &split}) {
    EXPECT_EQ(p->state(), State::complete) << p->error();
    EXPECT_EQ(p->body(), "data: {\"a\":1}\n\ndata: [DONE]\n");
    EXPECT_TRUE(has_first_event(p->body()));
    EXPECT_TRUE(has_done_event(p->body()));
  }
}

TEST(ResponseParser, StreamNotDoneUntilItsMarker) {
  ResponseParser p;
  p.feed("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n8\r\ndata: {}\r\n");
  EXPECT_EQ(p.state(), State::body);
  EXPECT_TRUE(has_first_event(p.body()));
  EXPECT_FALSE(has_done_event(p.body()));
  p.discard_body();
  p.feed("3\r\nabc\r\n");
  EXPECT_EQ(p.body(), "abc");
}

TEST(ResponseParser, ErrorStatusAndConnectionClose) {
  ResponseParser p;
  p.feed("HTTP/1.1 429 Too Many Requests\r\nConnection: close\r\nContent-Length: 2\r\n\r\n{}");
  EXPECT_EQ(p.state(), State::complete);
  EXPECT_EQ(p.status(), 429);
  EXPECT_FALSE(p.keep_alive());
  p.reset();
  p.feed("HTTP/1.1 204 No Content\r\n\r\n");
  EXPECT_EQ(p.state(), State::complete);
  EXPECT_EQ(p.status(), 204);
}

TEST(ResponseParser, CloseDelimitedBodyEndsAtEof) {
  ResponseParser p;
  p.feed("HTTP/1.1 200 OK\r\n\r\npart");
  EXPECT_EQ(p.state(), State::body);
  p.on_eof();
  EXPECT_EQ(p.state(), State::complete);
  EXPECT_EQ(p.body(), "part");
  EXPECT_FALSE(p.keep_alive());
}

TEST(ResponseParser, TruncatedOrMalformedResponsesFail) {
  ResponseParser cut;
  cut.feed("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc");
  cut.on_eof();
  EXPECT_EQ(cut.state(), State::failed);

  ResponseParser garbage;
  garbage.feed("SSH-2.0-OpenSSH\r\n\r\n");
  EXPECT_EQ(garbage.state(), State::failed);

  ResponseParser bad_chunk;
  bad_chunk.feed("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n");
  EXPECT_EQ(bad_chunk.state(), State::failed);

  ResponseParser long_chunk;
  long_chunk.feed("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabc\r\n");
  EXPECT_EQ(long_chunk.state(), State::failed);
}

TEST(Percentiles, NearestRank) {
  std::vector<std::int64_t> sorted;
  for (std::int64_t i = 1; i <= 1000; ++i) sorted.push_back(i * 1000);
  EXPECT_EQ(percentile(sorted, 50), 500'000);
  EXPECT_EQ(percentile(sorted, 99), 990'000);
  EXPECT_EQ(percentile(sorted, 99.9), 999'000);
  EXPECT_EQ(percentile(sorted, 100), 1'000'000);
  EXPECT_EQ(percentile({}, 50), 0);
  EXPECT_EQ(percentile({7}, 99.9), 7);
}

TEST(Percentiles, SummaryInMicrosecondsFromUnsortedSamples) {
  const LatencySummary s = summarize({3000, 1000, 2000, 100000});
  EXPECT_EQ(s.count, 4u);
  EXPECT_DOUBLE_EQ(s.p50_us, 2.0);
  EXPECT_DOUBLE_EQ(s.p99_us, 100.0);
  EXPECT_DOUBLE_EQ(s.max_us, 100.0);
  EXPECT_DOUBLE_EQ(s.mean_us, 26.5);
  EXPECT_EQ(summarize({}).count, 0u);
}

}  // namespace
}  // namespace switchyard::bench
