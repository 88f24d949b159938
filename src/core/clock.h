#pragma once
// The clock is injected so that signatures, reports and tests are reproducible.

#include <chrono>
#include <string>

namespace hsmproof {

using TimePoint = std::chrono::system_clock::time_point;

class Clock {
 public:
  virtual ~Clock() = default;
  [[nodiscard]] virtual TimePoint now() const = 0;
};

class SystemClock final : public Clock {
 public:
  [[nodiscard]] TimePoint now() const override { return std::chrono::system_clock::now(); }
};

class FixedClock final : public Clock {
 public:
  explicit FixedClock(TimePoint at) : at_(at) {}
  [[nodiscard]] TimePoint now() const override { return at_; }

 private:
  TimePoint at_;
};

// "2015-08-30T12:36:00Z" (UTC, seconds precision): the one time format of reports.
std::string format_iso8601(TimePoint t);
// "20150830T123600Z", as SigV4 wants.
std::string format_amz_date(TimePoint t);
// Parses "2015-08-30T12:36:00Z" / "2015-08-30T12:36:00.123Z" / "+00:00" offsets; false on error.
bool parse_iso8601(const std::string& text, TimePoint& out);
// Epoch seconds (possibly fractional) to a time point.
TimePoint from_epoch_seconds(double seconds);

}  // namespace hsmproof
