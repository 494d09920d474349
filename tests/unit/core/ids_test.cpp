#include "switchyard/core/ids.hpp"

#include <gtest/gtest.h>

#include "switchyard/core/tenancy.hpp"

namespace switchyard {
namespace {

TEST(IsUuid, AcceptsOnlyTheCanonicalForm) {
  EXPECT_TRUE(is_uuid("0b6f5a1e-3c2d-4e5f-8a9b-0c1d2e3f4a5b"));
  EXPECT_TRUE(is_uuid("0B6F5A1E-3C2D-4E5F-8A9B-0C1D2E3F4A5B"));
  EXPECT_FALSE(is_uuid("0b6f5a1e3c2d4e5f8a9b0c1d2e3f4a5b"));
  EXPECT_FALSE(is_uuid("0b6f5a1e-3c2d-4e5f-8a9b-0c1d2e3f4a5g"));
  EXPECT_FALSE(is_uuid("0b6f5a1e-3c2d-4e5f-8a9b-0c1d2e3f4a5b0"));
  EXPECT_FALSE(is_uuid("6f1c1f7e+9a7b-4d5e-8f00-0123456789ab"));
  EXPECT_FALSE(is_uuid("acme"));
  EXPECT_FALSE(is_uuid("'; DROP TABLE providers; --"));
}

TEST(BudgetPeriods, AreReadByNameWithMonthlyTheDefault) {
  EXPECT_EQ(budget_period_named("daily"), BudgetPeriod::daily);
  EXPECT_EQ(budget_period_named("weekly"), BudgetPeriod::weekly);
  EXPECT_EQ(budget_period_named("total"), BudgetPeriod::total);
  EXPECT_EQ(budget_period_named("monthly"), BudgetPeriod::monthly);
  EXPECT_EQ(budget_period_named("hourly"), BudgetPeriod::monthly);
}

}  // namespace
}  // namespace switchyard
