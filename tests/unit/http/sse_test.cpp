#include "switchyard/http/sse.hpp"

#include <gtest/gtest.h>

namespace switchyard::http {
namespace {

std::vector<SseEvent> decode_in_pieces(std::string_view stream, std::size_t piece) {
  SseDecoder decoder;
  std::vector<SseEvent> events;
  for (std::size_t i = 0; i < stream.size(); i += piece) decoder.feed(stream.substr(i, piece), events);
  return events;
}

TEST(SseDecoder, DecodesOpenAIStyleEventsWhateverThePieceSize) {
  const std::string stream = "data: {\"a\":1}\n\ndata: {\"b\":2}\r\n\r\n: keep-alive\n\ndata: [DONE]\n\n";
  for (std::size_t piece : {1u, 2u, 3u, 7u, 1000u}) {
    auto events = decode_in_pieces(stream, piece);
    ASSERT_EQ(events.size(), 3u) << piece;
    EXPECT_EQ(events[0].data, "{\"a\":1}");
    EXPECT_EQ(events[1].data, "{\"b\":2}");
    EXPECT_EQ(events[2].data, "[DONE]");
  }
}

TEST(SseDecoder, NamedEventsMultiLineDataAndLoneCarriageReturns) {
  auto events = decode_in_pieces("event: message_start\rdata: one\rdata:two\r\rdata:  spaced\n\n", 1);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].type, "message_start");
  EXPECT_EQ(events[0].data, "one\ntwo");
  EXPECT_EQ(events[1].type, "");
  EXPECT_EQ(events[1].data, " spaced");
}

TEST(SseDecoder, EventsWithoutDataAreNotDispatched) {
  auto events = decode_in_pieces("event: ping\n\nid: 5\nretry: 10\n\n", 4);
  EXPECT_TRUE(events.empty());
}

TEST(SseDecoder, AnUnfinishedEventIsReported) {
  SseDecoder decoder;
  std::vector<SseEvent> events;
  decoder.feed("data: {\"partial\":", events);
  EXPECT_TRUE(events.empty());
  EXPECT_TRUE(decoder.mid_event());
}

TEST(SseDecoder, OversizedEventsAreRefused) {
  SseDecoder decoder(64);
  std::vector<SseEvent> events;
  EXPECT_THROW(decoder.feed("data: " + std::string(100, 'x'), events), std::length_error);
}

TEST(SseData, FramesOnePayload) { EXPECT_EQ(sse_data("{}"), "data: {}\n\n"); }

}  // namespace
}  // namespace switchyard::http
