#include "core/clock.h"

#include <gtest/gtest.h>

namespace hsmproof {
namespace {

TEST(Clock, FormatsAndParsesIso8601) {
  TimePoint t;
  ASSERT_TRUE(parse_iso8601("2015-08-30T12:36:00Z", t));
  EXPECT_EQ(format_iso8601(t), "2015-08-30T12:36:00Z");
  EXPECT_EQ(format_amz_date(t), "20150830T123600Z");
  TimePoint with_offset;
  ASSERT_TRUE(parse_iso8601("2015-08-30T14:36:00.250+02:00", with_offset));
  EXPECT_EQ(format_iso8601(with_offset), "2015-08-30T12:36:00Z");
}

TEST(Clock, RejectsMalformedTimes) {
  TimePoint t;
  EXPECT_FALSE(parse_iso8601("2015-08-30 12:36:00", t));
  EXPECT_FALSE(parse_iso8601("2015-13-30T12:36:00Z", t));
  EXPECT_FALSE(parse_iso8601("2015-08-30T12:36:00Zjunk", t));
  EXPECT_FALSE(parse_iso8601("", t));
}

TEST(Clock, EpochSecondsKeepFractions) {
  EXPECT_EQ(format_iso8601(from_epoch_seconds(1.665517588478E9)), "2022-10-11T19:46:28Z");
}

}  // namespace
}  // namespace hsmproof
