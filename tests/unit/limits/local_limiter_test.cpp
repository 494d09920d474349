#include "switchyard/limits/local_limiter.hpp"

#include <gtest/gtest.h>

namespace switchyard::limits {
namespace {

using namespace std::chrono_literals;

Scope scope(ScopeKind kind, std::string id, Limits limits) { return {kind, std::move(id), limits, {}}; }

TEST(LocalLimiter, RefusesPastRpmUntilTheWindowSlides) {
  LocalLimiter limiter;
  auto key = scope(ScopeKind::key, "k", {.budget_micros = {}, .rpm = 3, .tpm = {}, .parallel = {}});
  auto tenant = scope(ScopeKind::tenant, "t", {});
  auto start = LocalLimiter::Clock::now();
  for (int i = 0; i < 3; ++i) {
    auto outcome = limiter.admit(key, tenant, start + i * 1s);
    ASSERT_FALSE(outcome.refusal);
    limiter.release(key, tenant);
    EXPECT_EQ(outcome.key.requests->remaining(), 2 - i);
  }
  auto refused = limiter.admit(key, tenant, start + 10s);
  ASSERT_TRUE(refused.refusal);
  EXPECT_EQ(refused.refusal->limit, LimitKind::rpm);
  EXPECT_EQ(refused.refusal->retry_after, 50s);
  EXPECT_EQ(refused.key.requests->remaining(), 0);
  EXPECT_FALSE(limiter.admit(key, tenant, start + 60s + 1ms).refusal);
}

TEST(LocalLimiter, ParallelSlotsComeBackOnRelease) {
  LocalLimiter limiter;
  auto key = scope(ScopeKind::key, "k", {});
  auto tenant = scope(ScopeKind::tenant, "t", {.budget_micros = {}, .rpm = {}, .tpm = {}, .parallel = 2});
  auto now = LocalLimiter::Clock::now();
  EXPECT_FALSE(limiter.admit(key, tenant, now).refusal);
  EXPECT_FALSE(limiter.admit(key, tenant, now).refusal);
  auto refused = limiter.admit(key, tenant, now);
  ASSERT_TRUE(refused.refusal);
  EXPECT_EQ(refused.refusal->limit, LimitKind::parallel);
  EXPECT_EQ(refused.refusal->scope, ScopeKind::tenant);
  limiter.release(key, tenant);
  EXPECT_FALSE(limiter.admit(key, tenant, now).refusal);
}

TEST(LocalLimiter, ARefusalTakesNothingFromTheOtherScope) {
  LocalLimiter limiter;
  auto key = scope(ScopeKind::key, "k", {.budget_micros = {}, .rpm = 10, .tpm = {}, .parallel = {}});
  auto tenant = scope(ScopeKind::tenant, "t", {.budget_micros = {}, .rpm = {}, .tpm = {}, .parallel = 0});
  auto now = LocalLimiter::Clock::now();
  auto refused = limiter.admit(key, tenant, now);
  ASSERT_TRUE(refused.refusal);
  EXPECT_EQ(refused.key.requests->used, 0);
}

TEST(LocalLimiter, DropsIdleScopes) {
  LocalLimiter limiter;
  auto key = scope(ScopeKind::key, "k", {.budget_micros = {}, .rpm = {}, .tpm = {}, .parallel = 1});
  auto tenant = scope(ScopeKind::tenant, "t", {.budget_micros = {}, .rpm = {}, .tpm = {}, .parallel = 1});
  ASSERT_FALSE(limiter.admit(key, tenant, LocalLimiter::Clock::now()).refusal);
  EXPECT_EQ(limiter.tracked_scopes(), 2u);
  limiter.release(key, tenant);
  EXPECT_EQ(limiter.tracked_scopes(), 0u);
}

}  // namespace
}  // namespace switchyard::limits
