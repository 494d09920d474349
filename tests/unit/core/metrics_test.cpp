#include "switchyard/core/metrics.hpp"

#include <gtest/gtest.h>

namespace switchyard {
namespace {

TEST(Metrics, RendersCountersHistogramsAndGauges) {
  Metrics metrics;
  auto& chat = metrics.route("POST", "/v1/chat/completions");
  chat.record(200, std::chrono::microseconds(300));
  chat.record(200, std::chrono::milliseconds(20));
  chat.record(429, std::chrono::milliseconds(2));
  metrics.add_gauge("switchyard_pg_pool_connections", "Postgres connections.", "state=\"busy\"",
                    [] { return 2.0; });
  metrics.add_gauge("switchyard_pg_pool_connections", "Postgres connections.", "state=\"open\"",
                    [] { return 5.0; });
  auto text = metrics.render();

  EXPECT_NE(
      text.find(
          R"(switchyard_http_requests_total{method="POST",route="/v1/chat/completions",status="200"} 2)"),
      std::string::npos)
      << text;
  EXPECT_NE(text.find(R"(status="429"} 1)"), std::string::npos);
  EXPECT_NE(text.find(R"(le="0.0005"} 1)"), std::string::npos);
  EXPECT_NE(text.find(R"(le="0.0025"} 2)"), std::string::npos);
  EXPECT_NE(text.find(R"(le="+Inf"} 3)"), std::string::npos);
  EXPECT_NE(
      text.find(
          "switchyard_http_request_duration_seconds_count{method=\"POST\",route=\"/v1/chat/completions\"} 3"),
      std::string::npos);
  EXPECT_NE(text.find("switchyard_http_in_flight_requests 0"), std::string::npos);
  EXPECT_NE(text.find("switchyard_pg_pool_connections{state=\"busy\"} 2"), std::string::npos);
  EXPECT_NE(text.find("switchyard_pg_pool_connections{state=\"open\"} 5"), std::string::npos);
  // One HELP/TYPE header per family, even with several labelled gauges.
  EXPECT_EQ(text.find("# TYPE switchyard_pg_pool_connections gauge"),
            text.rfind("# TYPE switchyard_pg_pool_connections gauge"));
}

TEST(Metrics, TheSameRouteIsRegisteredOnce) {
  Metrics metrics;
  EXPECT_EQ(&metrics.route("GET", "/health"), &metrics.route("GET", "/health"));
  EXPECT_NE(&metrics.route("GET", "/health"), &metrics.route("GET", "/ready"));
}

}  // namespace
}  // namespace switchyard
