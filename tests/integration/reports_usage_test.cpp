#include <gtest/gtest.h>

#include <pqxx/pqxx>
#include <string>
#include <vector>

#include "support/test_env.hpp"
#include "switchyard/core/error.hpp"
#include "switchyard/http/message.hpp"
#include "switchyard/reports/usage_report.hpp"
#include "switchyard/store/migrations.hpp"

namespace switchyard::reports {
namespace {

using nlohmann::json;
using switchyard::testing::ScratchDatabase;

/// A migrated scratch database with helpers to make tenants and usage rows at chosen instants.
class ReportsTest : public ::testing::Test {
 protected:
  ReportsTest() : connection_((postgres::migrate(db_.url()), db_.url())) {}

  std::string tenant(const std::string& name, const char* kind = "shared") {
    pqxx::work tx(connection_);
    auto id =
        tx.exec_params1("INSERT INTO tenants (kind, name) VALUES ($1, $2) RETURNING id::text", kind, name)[0]
            .as<std::string>();
    tx.commit();
    return id;
  }

  struct Row {
    std::string tenant;
    std::string at;  ///< RFC 3339
    std::string alias = "gpt-4o-mini";
    std::string provider = "openai";
    std::int64_t prompt = 10;
    std::int64_t completion = 5;
    std::int64_t cost_micros = 1'000;
  };

  void usage(const Row& row) {
    pqxx::work tx(connection_);
    tx.exec_params0(
        "INSERT INTO usage_records (id, request_id, tenant_id, model_alias, provider, prompt_tokens,"
        " completion_tokens, cost_micros, status, created_at)"
        " VALUES (gen_random_uuid(), 'req', $1, $2, nullif($3, ''), $4, $5, $6, 'completed', "
        "$7::timestamptz)",
        row.tenant, row.alias, row.provider, row.prompt, row.completion, row.cost_micros, row.at);
    tx.commit();
  }

  /// The query a request with this query string asks for.
  static UsageQuery query(const std::string& text) {
    http::Request request;
    request.target = "/user/usage?" + text;
    return parse_usage_query(request);
  }

  json summary(const std::string& text, const ReportScope& scope, std::optional<Instant> now = std::nullopt) {
    pqxx::work tx(connection_);
    return reports_.summary(tx, query(text), scope, now);
  }

  json compare(const std::string& text, const ReportScope& scope, std::optional<Instant> now = std::nullopt) {
    pqxx::work tx(connection_);
    return reports_.compare(tx, query(text), scope, now);
  }

  /// The ApiError the summary throws; fails the test when it throws none.
  ApiError summary_error(const std::string& text, const ReportScope& scope) {
    try {
      summary(text, scope);
    } catch (const ApiError& error) {
      return error;
    }
    ADD_FAILURE() << "no error for " << text;
    return ApiError::internal("none");
  }

  ReportScope admin_scope() {
    pqxx::work tx(connection_);
    return every_tenant(tx);
  }

  ScratchDatabase db_;
  pqxx::connection connection_;
  UsageReports reports_;
};

Instant at(const char* text) { return *parse_rfc3339(text); }

std::vector<std::string> dates(const json& points) {
  std::vector<std::string> out;
  for (const auto& point : points) out.push_back(point.at("date").get<std::string>());
  return out;
}

/// Requests per point, in order.
std::vector<std::int64_t> requests(const json& points) {
  std::vector<std::int64_t> out;
  for (const auto& point : points) out.push_back(point.at("requests").get<std::int64_t>());
  return out;
}

TEST_F(ReportsTest, NewYorkFallBackPutsEachRequestOnItsLocalDayAndTheLongDayIsOnePoint) {
  auto acme = tenant("acme");
  ReportScope scope{{{acme, "Acme"}}};
  usage({acme, "2025-11-02T03:30:00Z"});  // Nov 1, 23:30 EDT
  usage({acme, "2025-11-02T04:30:00Z"});  // Nov 2, 00:30 EDT
  usage({acme, "2025-11-02T05:30:00Z"});  // Nov 2, 01:30 EDT
  usage({acme, "2025-11-02T06:30:00Z"});  // Nov 2, 01:30 EST: the same wall time again
  usage({acme, "2025-11-03T04:30:00Z"});  // Nov 2, 23:30 EST: the 25th hour of that day
  usage({acme, "2025-11-03T05:00:00Z"});  // Nov 3, 00:00 EST

  auto report = summary("period=7d&timezone=America/New_York", scope, at("2025-11-05T12:00:00Z"));
  EXPECT_EQ(report["period"], "7d");
  EXPECT_EQ(report["timezone"], "America/New_York");
  EXPECT_EQ(report["start"], "2025-10-30T00:00:00-04:00");
  EXPECT_EQ(report["end"], "2025-11-06T00:00:00-05:00");
  std::vector<std::string> expected_dates{"2025-10-30T00:00:00-04:00", "2025-10-31T00:00:00-04:00",
                                          "2025-11-01T00:00:00-04:00", "2025-11-02T00:00:00-04:00",
                                          "2025-11-03T00:00:00-05:00", "2025-11-04T00:00:00-05:00",
                                          "2025-11-05T00:00:00-05:00"};
  EXPECT_EQ(dates(report["points"]), expected_dates);
  EXPECT_EQ(requests(report["points"]), (std::vector<std::int64_t>{0, 0, 1, 4, 1, 0, 0}));
  EXPECT_EQ(report["totals"]["requests"], 6);

  // The same rows in UTC fall on other days.
  auto in_utc = summary("period=7d", scope, at("2025-11-05T12:00:00Z"));
  EXPECT_EQ(in_utc["timezone"], "UTC");
  EXPECT_EQ(in_utc["points"][3]["date"], "2025-11-02T00:00:00+00:00");
  EXPECT_EQ(requests(in_utc["points"]), (std::vector<std::int64_t>{0, 0, 0, 4, 2, 0, 0}));
}

TEST_F(ReportsTest, NewYorkSpringForwardHasAShortDayAndTheNextMidnightMovesAnHour) {
  auto acme = tenant("acme");
  ReportScope scope{{{acme, "Acme"}}};
  usage({acme, "2025-03-09T04:59:59Z"});  // Mar 8, 23:59:59 EST
  usage({acme, "2025-03-09T05:00:00Z"});  // Mar 9, 00:00 EST
  usage({acme, "2025-03-09T07:00:00Z"});  // Mar 9, 03:00 EDT: 02:00 to 03:00 never happened
  usage({acme, "2025-03-10T03:30:00Z"});  // Mar 9, 23:30 EDT
  usage({acme, "2025-03-10T04:30:00Z"});  // Mar 10, 00:30 EDT (still Mar 9 at the winter offset)

  auto report = compare(
      "timezone=America/New_York&start=2025-03-08T00:00:00-05:00&end=2025-03-11T00:00:00-04:00", scope);
  EXPECT_EQ(report["period"], "custom");
  ASSERT_EQ(report["series"].size(), 1u);
  const auto& series = report["series"][0];
  EXPECT_EQ(dates(series["points"]),
            (std::vector<std::string>{"2025-03-08T00:00:00-05:00", "2025-03-09T00:00:00-05:00",
                                      "2025-03-10T00:00:00-04:00"}));
  EXPECT_EQ(requests(series["points"]), (std::vector<std::int64_t>{1, 3, 1}));
}

TEST_F(ReportsTest, BerlinAutumnChangeLandsOnTheRightDays) {
  auto acme = tenant("acme");
  ReportScope scope{{{acme, "Acme"}}};
  usage({acme, "2025-10-25T21:59:59Z"});  // Oct 25, 23:59:59 CEST
  usage({acme, "2025-10-25T22:30:00Z"});  // Oct 26, 00:30 CEST
  usage({acme, "2025-10-26T00:30:00Z"});  // Oct 26, 02:30 CEST
  usage({acme, "2025-10-26T01:30:00Z"});  // Oct 26, 02:30 CET: the same wall time again
  usage({acme, "2025-10-26T22:30:00Z"});  // Oct 26, 23:30 CET (Oct 27 at the summer offset)
  usage({acme, "2025-10-26T23:00:00Z"});  // Oct 27, 00:00 CET

  auto report = summary(
      "timezone=Europe/Berlin&start=2025-10-25T00:00:00%2B02:00&end=2025-10-28T00:00:00%2B01:00", scope);
  EXPECT_EQ(report["start"], "2025-10-25T00:00:00+02:00");
  EXPECT_EQ(report["end"], "2025-10-28T00:00:00+01:00");
  EXPECT_EQ(dates(report["points"]),
            (std::vector<std::string>{"2025-10-25T00:00:00+02:00", "2025-10-26T00:00:00+02:00",
                                      "2025-10-27T00:00:00+01:00"}));
  EXPECT_EQ(requests(report["points"]), (std::vector<std::int64_t>{1, 4, 1}));
}

TEST_F(ReportsTest, ThePeriodEndsWithTheLocalTodayAndLeavesOutLaterRequests) {
  auto acme = tenant("acme");
  ReportScope scope{{{acme, "Acme"}}};
  usage({acme, "2025-11-05T02:00:00Z"});  // Nov 4, 21:00 EST: today in New York
  usage({acme, "2025-11-05T05:00:00Z"});  // Nov 5, 00:00 EST: tomorrow there
  usage({acme, "2025-10-06T04:59:59Z"});  // Oct 6, 00:59:59 EDT: the first of 30 days
  usage({acme, "2025-10-05T03:59:59Z"});  // Oct 4, 23:59:59 EDT: one day too early

  auto report = summary("timezone=America/New_York", scope, at("2025-11-05T03:00:00Z"));
  ASSERT_EQ(report["points"].size(), 30u);
  EXPECT_EQ(report["points"][0]["date"], "2025-10-06T00:00:00-04:00");
  EXPECT_EQ(report["points"][29]["date"], "2025-11-04T00:00:00-05:00");
  EXPECT_EQ(report["points"][0]["requests"], 1);
  EXPECT_EQ(report["points"][29]["requests"], 1);
  EXPECT_EQ(report["totals"]["requests"], 2);
  EXPECT_EQ(report["end"], "2025-11-05T00:00:00-05:00");
}

TEST_F(ReportsTest, EveryDayHasAPointAndMoneyIsSummedInMicrosThenRounded) {
  auto acme = tenant("acme");
  ReportScope scope{{{acme, "Acme"}}};
  usage({.tenant = acme,
         .at = "2025-06-03T10:00:00Z",
         .prompt = 100,
         .completion = 20,
         .cost_micros = 4'225'000});
  usage({.tenant = acme, .at = "2025-06-05T10:00:00Z", .prompt = 1, .completion = 2, .cost_micros = 5'000});
  usage({.tenant = acme, .at = "2025-06-05T11:00:00Z", .prompt = 3, .completion = 4, .cost_micros = 4'999});

  auto report = summary("period=7d", scope, at("2025-06-07T12:00:00Z"));
  ASSERT_EQ(report["points"].size(), 7u);
  const auto& points = report["points"];
  EXPECT_EQ(requests(points), (std::vector<std::int64_t>{0, 0, 1, 0, 2, 0, 0}));
  EXPECT_EQ(points[0], (json{{"date", "2025-06-01T00:00:00+00:00"},
                             {"requests", 0},
                             {"tokens", 0},
                             {"prompt_tokens", 0},
                             {"completion_tokens", 0},
                             {"cost_cents", 0},
                             {"cost_usd", 0.0}}));
  EXPECT_EQ(points[2]["cost_cents"], 423);
  EXPECT_EQ(points[2]["cost_usd"], 4.23);
  EXPECT_EQ(points[2]["tokens"], 120);
  // 9,999 micro-dollars: one cent once summed, though each row alone is half a cent.
  EXPECT_EQ(points[4]["cost_cents"], 1);
  EXPECT_EQ(points[4]["tokens"], 10);

  const auto& totals = report["totals"];
  EXPECT_EQ(totals["requests"], 3);
  EXPECT_EQ(totals["tokens"], 130);
  EXPECT_EQ(totals["prompt_tokens"], 104);
  EXPECT_EQ(totals["completion_tokens"], 26);
  // 4,234,999 micro-dollars is 423 cents, not the 424 that adding the days' rounded cents would give.
  EXPECT_EQ(totals["cost_cents"], 423);
  EXPECT_EQ(totals["cost_usd"], 4.23);
  EXPECT_EQ(json::parse(report.dump())["totals"]["cost_usd"].dump(), "4.23");
}

TEST_F(ReportsTest, ACustomWindowIsHalfOpenAndMayReachOneHundredEightyDays) {
  auto acme = tenant("acme");
  ReportScope scope{{{acme, "Acme"}}};
  usage({acme, "2025-01-01T00:00:00Z"});
  usage({acme, "2025-06-29T23:59:59.999999Z"});
  usage({acme, "2025-06-30T00:00:00Z"});
  usage({acme, "2024-12-31T23:59:59Z"});

  auto report = summary("start=2025-01-01T00:00:00Z&end=2025-06-30T00:00:00Z", scope);
  EXPECT_EQ(report["points"].size(), 180u);
  EXPECT_EQ(report["points"][0]["requests"], 1);
  EXPECT_EQ(report["points"][179]["date"], "2025-06-29T00:00:00+00:00");
  EXPECT_EQ(report["points"][179]["requests"], 1);
  EXPECT_EQ(report["totals"]["requests"], 2);
  EXPECT_EQ(report["start"], "2025-01-01T00:00:00+00:00");
  EXPECT_EQ(report["end"], "2025-06-30T00:00:00+00:00");

  // A window that starts and ends inside days still has a point for each day it touches.
  auto partial = summary("start=2025-01-01T12:00:00Z&end=2025-01-03T06:00:00Z", scope);
  EXPECT_EQ(dates(partial["points"]),
            (std::vector<std::string>{"2025-01-01T00:00:00+00:00", "2025-01-02T00:00:00+00:00",
                                      "2025-01-03T00:00:00+00:00"}));
  EXPECT_EQ(partial["totals"]["requests"], 0);
}

TEST_F(ReportsTest, ZonesAreCheckedAgainstPostgresAndSpelledItsWay) {
  auto acme = tenant("acme");
  ReportScope scope{{{acme, "Acme"}}};
  auto error = summary_error("timezone=Mars/Olympus_Mons", scope);
  EXPECT_EQ(error.status(), 400);
  EXPECT_EQ(error.param(), "timezone");
  EXPECT_EQ(summary("timezone=europe/berlin", scope)["timezone"], "Europe/Berlin");
  EXPECT_EQ(summary("timezone=utc", scope)["timezone"], "UTC");
}

TEST_F(ReportsTest, ATenantOutsideTheScopeIsNotFoundAndItsDataNeverShows) {
  auto mine = tenant("mine");
  auto theirs = tenant("theirs");
  usage({.tenant = mine, .at = "2025-06-05T10:00:00Z", .cost_micros = 10'000});
  usage({.tenant = theirs, .at = "2025-06-05T10:00:00Z", .cost_micros = 990'000});
  ReportScope scope{{{mine, "Personal"}}};

  auto error = summary_error("tenant_ids=" + theirs, scope);
  EXPECT_EQ(error.status(), 404);
  EXPECT_EQ(error.code(), "tenant_not_found");
  EXPECT_EQ(std::string(error.what()).find("theirs"), std::string::npos);
  EXPECT_EQ(summary_error("tenant_ids=" + mine + "," + theirs, scope).code(), "tenant_not_found");
  try {
    compare("tenant_ids=" + theirs, scope);
    ADD_FAILURE() << "compare answered for a tenant outside the scope";
  } catch (const ApiError& refused) {
    EXPECT_EQ(refused.status(), 404);
  }

  // Without a filter only the scope's usage counts.
  auto report = summary("period=7d", scope, at("2025-06-07T12:00:00Z"));
  EXPECT_EQ(report["totals"]["requests"], 1);
  EXPECT_EQ(report["totals"]["cost_cents"], 1);
  ASSERT_EQ(report["tenants"].size(), 1u);
  EXPECT_EQ(report["tenants"][0]["id"], mine);
  EXPECT_EQ(report["tenants"][0]["label"], "Personal");
}

TEST_F(ReportsTest, SummaryFiltersByTenantAndModelAndListsBoth) {
  auto personal = tenant("alice", "personal");
  auto team = tenant("team");
  ReportScope scope{{{personal, "Personal"}, {team, "Team"}}};
  usage({.tenant = personal, .at = "2025-06-05T10:00:00Z", .alias = "gpt-4o-mini", .cost_micros = 1'000'000});
  usage({.tenant = team, .at = "2025-06-05T11:00:00Z", .alias = "gpt-4o-mini", .cost_micros = 2'000'000});
  usage({.tenant = team,
         .at = "2025-06-06T11:00:00Z",
         .alias = "claude",
         .provider = "anthropic",
         .cost_micros = 3'000'000});
  auto now = at("2025-06-07T12:00:00Z");

  auto all = summary("period=7d", scope, now);
  EXPECT_EQ(all["totals"]["requests"], 3);
  ASSERT_EQ(all["tenants"].size(), 2u);
  EXPECT_EQ(all["tenants"][0]["label"], "Personal");
  EXPECT_EQ(all["tenants"][0]["totals"]["cost_usd"], 1.0);
  EXPECT_EQ(all["tenants"][1]["totals"]["cost_usd"], 5.0);
  ASSERT_EQ(all["models"].size(), 2u);
  EXPECT_EQ(all["models"][0]["alias"], "claude");
  EXPECT_EQ(all["models"][0]["provider"], "anthropic");
  EXPECT_EQ(all["models"][1]["totals"]["requests"], 2);

  auto team_only = summary("period=7d&tenant_ids=" + team, scope, now);
  EXPECT_EQ(team_only["totals"]["cost_cents"], 500);
  ASSERT_EQ(team_only["tenants"].size(), 1u);
  EXPECT_EQ(team_only["tenants"][0]["id"], team);

  auto mini = summary("period=7d&model_aliases=gpt-4o-mini,unused", scope, now);
  EXPECT_EQ(mini["totals"]["requests"], 2);
  EXPECT_EQ(mini["totals"]["cost_cents"], 300);
  ASSERT_EQ(mini["models"].size(), 2u);
  EXPECT_EQ(mini["models"][1]["alias"], "unused");
  EXPECT_EQ(mini["models"][1]["totals"]["requests"], 0);
  EXPECT_TRUE(mini["models"][1]["provider"].is_null());
}

TEST_F(ReportsTest, CompareGivesTenantSeriesByDefaultAndModelSeriesWhenAsked) {
  auto personal = tenant("alice", "personal");
  auto team = tenant("team");
  auto stranger = tenant("stranger");
  ReportScope scope{{{personal, "Personal"}, {team, "Team"}}};
  usage({.tenant = personal, .at = "2025-06-05T10:00:00Z", .alias = "gpt-4o-mini", .provider = "azure"});
  usage({.tenant = team, .at = "2025-06-06T11:00:00Z", .alias = "gpt-4o-mini", .provider = "openai"});
  usage({.tenant = team, .at = "2025-06-06T12:00:00Z", .alias = "claude", .provider = "anthropic"});
  usage({.tenant = stranger, .at = "2025-06-06T12:00:00Z", .alias = "gpt-4o-mini"});
  auto now = at("2025-06-07T12:00:00Z");

  auto by_tenant = compare("period=7d", scope, now);
  EXPECT_EQ(by_tenant["period"], "7d");
  ASSERT_EQ(by_tenant["series"].size(), 2u);
  const auto& first = by_tenant["series"][0];
  EXPECT_EQ(first["kind"], "tenant");
  EXPECT_EQ(first["id"], personal);
  EXPECT_EQ(first["label"], "Personal");
  EXPECT_TRUE(first["provider"].is_null());
  EXPECT_EQ(first["totals"], (json{{"requests", 1}, {"tokens", 15}, {"cost_cents", 0}, {"cost_usd", 0.0}}));
  EXPECT_EQ(first["points"].size(), 7u);
  EXPECT_EQ(first["points"][4].size(), 5u);  // date, requests, tokens, cost_cents, cost_usd
  EXPECT_EQ(by_tenant["series"][1]["totals"]["requests"], 2);

  // Aliases alone: model series over every tenant of the scope, and no tenant series.
  auto by_model = compare("period=7d&model_aliases=gpt-4o-mini", scope, now);
  ASSERT_EQ(by_model["series"].size(), 1u);
  const auto& model = by_model["series"][0];
  EXPECT_EQ(model["kind"], "model");
  EXPECT_EQ(model["id"], "gpt-4o-mini");
  EXPECT_EQ(model["label"], "gpt-4o-mini");
  EXPECT_EQ(model["provider"], "openai");     // the latest request's
  EXPECT_EQ(model["totals"]["requests"], 2);  // not the stranger's

  // Both: the named tenants' series, then the models' over those tenants.
  auto both = compare("period=7d&tenant_ids=" + personal + "&model_aliases=gpt-4o-mini,claude", scope, now);
  ASSERT_EQ(both["series"].size(), 3u);
  EXPECT_EQ(both["series"][0]["id"], personal);
  EXPECT_EQ(both["series"][1]["id"], "gpt-4o-mini");
  EXPECT_EQ(both["series"][1]["totals"]["requests"], 1);
  EXPECT_EQ(both["series"][1]["provider"], "azure");
  EXPECT_EQ(both["series"][2]["id"], "claude");
  EXPECT_EQ(both["series"][2]["totals"]["requests"], 0);
  EXPECT_TRUE(both["series"][2]["provider"].is_null());
}

TEST_F(ReportsTest, TheAdminScopeCoversEveryTenantByNameAndListsOnlyActiveOnesUnlessNamed) {
  auto busy = tenant("busy corp");
  auto idle = tenant("idle corp");
  usage({.tenant = busy, .at = "2025-06-05T10:00:00Z"});
  auto scope = admin_scope();
  auto now = at("2025-06-07T12:00:00Z");

  auto report = summary("period=7d", scope, now);
  ASSERT_EQ(report["tenants"].size(), 1u);
  EXPECT_EQ(report["tenants"][0]["label"], "busy corp");
  auto series = compare("period=7d", scope, now)["series"];
  ASSERT_EQ(series.size(), 1u);
  EXPECT_EQ(series[0]["id"], busy);

  auto named = compare("period=7d&tenant_ids=" + idle, scope, now)["series"];
  ASSERT_EQ(named.size(), 1u);
  EXPECT_EQ(named[0]["label"], "idle corp");
  EXPECT_EQ(named[0]["totals"]["requests"], 0);
  EXPECT_EQ(summary_error("tenant_ids=00000000-0000-4000-8000-000000000000", scope).code(),
            "tenant_not_found");
}

}  // namespace
}  // namespace switchyard::reports
