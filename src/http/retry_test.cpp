#include "http/retry.h"

#include <gtest/gtest.h>

#include <ctime>
#include <deque>
#include <thread>

namespace hsmproof::http {
namespace {

using std::chrono::milliseconds;

// Answers from a script, one per call, and records what it was asked.
class ScriptedTransport final : public Transport {
 public:
  std::deque<Result<Response>> script;
  int calls = 0;

  Result<Response> send(const Request& request) override {
    ++calls;
    last_operation = request.operation;
    if (script.empty()) return Error{ErrorKind::kInternal, "script exhausted"};
    Result<Response> next = script.front();
    if (script.size() > 1) script.pop_front();  // the last answer repeats forever
    return next;
  }

  std::string last_operation;
};

Response answer(int status, Headers headers = {}, std::string body = "") {
  Response response;
  response.status = status;
  response.headers = std::move(headers);
  response.body = std::move(body);
  return response;
}

Error transport_error(const std::string& message) {
  Error error;
  error.kind = ErrorKind::kTransport;
  error.message = message;
  error.operation = "kms:ListKeys";
  return error;
}

struct RecordingSleeper {
  std::vector<milliseconds> sleeps;
  Sleeper sleeper() {
    return [this](milliseconds delay) { sleeps.push_back(delay); };
  }
};

Request request_named(const std::string& operation) {
  Request request;
  request.method = "POST";
  request.url = "https://kms.us-east-1.amazonaws.com/";
  request.operation = operation;
  return request;
}

TEST(RetryingTransport, RetriesThrottleThenReturnsSuccess) {
  ScriptedTransport inner;
  inner.script = {answer(429), answer(200, {}, "ok")};
  RecordingSleeper sleeper;
  RetryingTransport transport(inner, RetryPolicy{}, sleeper.sleeper());

  auto result = transport.send(request_named("kms:ListKeys"));
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result->status, 200);
  EXPECT_EQ(result->body, "ok");
  EXPECT_EQ(inner.calls, 2);
  EXPECT_EQ(RetryingTransport::last_attempts(), 2);
  EXPECT_EQ(sleeper.sleeps.size(), 1U);
}

TEST(RetryingTransport, ServerErrorsExhaustAttemptsAndReturnTheLastResponse) {
  ScriptedTransport inner;
  inner.script = {answer(503, {}, "first"), answer(500, {}, "last")};
  RecordingSleeper sleeper;
  RetryPolicy policy;
  policy.max_attempts = 4;
  RetryingTransport transport(inner, policy, sleeper.sleeper());

  auto result = transport.send(request_named("kms:ListKeys"));
  ASSERT_TRUE(result.ok()) << "an HTTP answer stays a Response; the caller parses the error";
  EXPECT_EQ(result->status, 500);
  EXPECT_EQ(result->body, "last");
  EXPECT_EQ(inner.calls, 4);
  EXPECT_EQ(RetryingTransport::last_attempts(), 4);
  EXPECT_EQ(sleeper.sleeps.size(), 3U) << "no sleep after the final attempt";
}

TEST(RetryingTransport, ClientErrorsAndSuccessAreNotRetriedByDefault) {
  for (int status : {200, 204, 400, 403, 404}) {
    ScriptedTransport inner;
    inner.script = {answer(status)};
    RecordingSleeper sleeper;
    RetryingTransport transport(inner, RetryPolicy{}, sleeper.sleeper());
    auto result = transport.send(request_named("op"));
    ASSERT_TRUE(result.ok());
    EXPECT_EQ(inner.calls, 1) << status;
    EXPECT_EQ(RetryingTransport::last_attempts(), 1);
    EXPECT_TRUE(sleeper.sleeps.empty());
  }
  for (int status : {408, 429, 500, 502, 503, 504}) {
    ScriptedTransport inner;
    inner.script = {answer(status), answer(200)};
    RetryingTransport transport(inner, RetryPolicy{}, [](milliseconds) {});
    ASSERT_TRUE(transport.send(request_named("op")).ok());
    EXPECT_EQ(inner.calls, 2) << status;
  }
}

TEST(RetryingTransport, RetryAfterSecondsWinsOverBackoff) {
  ScriptedTransport inner;
  Headers headers;
  headers.add("Retry-After", "7");
  inner.script = {answer(503, headers), answer(200)};
  RecordingSleeper sleeper;
  RetryPolicy policy;
  policy.max_delay = milliseconds{1000};
  RetryingTransport transport(inner, policy, sleeper.sleeper());

  ASSERT_TRUE(transport.send(request_named("op")).ok());
  ASSERT_EQ(sleeper.sleeps.size(), 1U);
  EXPECT_EQ(sleeper.sleeps[0], milliseconds{7000});
}

TEST(RetryingTransport, RetryAfterMsIsHonouredAndServerDelaysAreCapped) {
  ScriptedTransport inner;
  Headers precise;
  precise.add("retry-after-ms", "1250");
  precise.add("Retry-After", "2");
  Headers huge;
  huge.add("Retry-After", "86400");
  inner.script = {answer(429, precise), answer(429, huge), answer(200)};
  RecordingSleeper sleeper;
  RetryingTransport transport(inner, RetryPolicy{}, sleeper.sleeper());

  ASSERT_TRUE(transport.send(request_named("op")).ok());
  ASSERT_EQ(sleeper.sleeps.size(), 2U);
  EXPECT_EQ(sleeper.sleeps[0], milliseconds{1250});
  EXPECT_EQ(sleeper.sleeps[1], milliseconds{60000});
}

TEST(RetryingTransport, RetryAfterHttpDateIsHonoured) {
  const std::time_t in_twenty_seconds = std::time(nullptr) + 20;
  std::tm utc{};
  gmtime_r(&in_twenty_seconds, &utc);
  char date[64];
  ASSERT_GT(std::strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S GMT", &utc), 0U);

  ScriptedTransport inner;
  Headers headers;
  headers.add("Retry-After", date);
  inner.script = {answer(503, headers), answer(200)};
  RecordingSleeper sleeper;
  RetryingTransport transport(inner, RetryPolicy{}, sleeper.sleeper());

  ASSERT_TRUE(transport.send(request_named("op")).ok());
  ASSERT_EQ(sleeper.sleeps.size(), 1U);
  EXPECT_GE(sleeper.sleeps[0], milliseconds{18000}) << date;
  EXPECT_LE(sleeper.sleeps[0], milliseconds{20000}) << date;
}

TEST(RetryingTransport, UnparseableRetryAfterFallsBackToBackoff) {
  ScriptedTransport inner;
  Headers headers;
  headers.add("Retry-After", "soon, maybe");
  inner.script = {answer(503, headers), answer(200)};
  RecordingSleeper sleeper;
  RetryPolicy policy;
  policy.base_delay = milliseconds{100};
  RetryingTransport transport(inner, policy, sleeper.sleeper());

  ASSERT_TRUE(transport.send(request_named("op")).ok());
  ASSERT_EQ(sleeper.sleeps.size(), 1U);
  EXPECT_LE(sleeper.sleeps[0], milliseconds{100});
}

TEST(RetryingTransport, TransportErrorThenSuccess) {
  ScriptedTransport inner;
  inner.script = {transport_error("connection reset"), answer(200, {}, "fine")};
  RecordingSleeper sleeper;
  RetryingTransport transport(inner, RetryPolicy{}, sleeper.sleeper());

  auto result = transport.send(request_named("kms:ListKeys"));
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result->body, "fine");
  EXPECT_EQ(RetryingTransport::last_attempts(), 2);
}

TEST(RetryingTransport, PersistentTransportErrorSaysHowManyAttempts) {
  ScriptedTransport inner;
  inner.script = {transport_error("request to 127.0.0.1:9 failed: could not connect")};
  RetryPolicy policy;
  policy.max_attempts = 3;
  RetryingTransport transport(inner, policy, [](milliseconds) {});

  auto result = transport.send(request_named("kms:ListKeys"));
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().kind, ErrorKind::kTransport);
  EXPECT_EQ(result.error().operation, "kms:ListKeys");
  EXPECT_EQ(result.error().message,
            "request to 127.0.0.1:9 failed: could not connect after 3 attempts");
  EXPECT_EQ(inner.calls, 3);
}

TEST(RetryingTransport, NonRetryableErrorsReturnAtOnce) {
  ScriptedTransport inner;
  Error too_large{ErrorKind::kMalformed, "response body larger than the limit"};
  inner.script = {too_large};
  RecordingSleeper sleeper;
  RetryingTransport transport(inner, RetryPolicy{}, sleeper.sleeper());

  auto result = transport.send(request_named("op"));
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().message, "response body larger than the limit");
  EXPECT_EQ(inner.calls, 1);
  EXPECT_TRUE(sleeper.sleeps.empty());
}

TEST(RetryingTransport, CustomClassifiersDecide) {
  ScriptedTransport inner;
  inner.script = {answer(400, {}, "{\"__type\":\"ThrottlingException\"}"), answer(200)};
  RetryPolicy policy;
  policy.classify_response = [](const Response& response) {
    return response.body.find("Throttling") != std::string::npos ? RetryDecision::kRetry
                                                                 : RetryDecision::kDone;
  };
  RetryingTransport transport(inner, policy, [](milliseconds) {});
  auto result = transport.send(request_named("op"));
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result->status, 200);
  EXPECT_EQ(inner.calls, 2);
}

TEST(RetryingTransport, JitterStaysWithinTheExponentialCeilingAndTheCap) {
  RetryPolicy policy;
  policy.max_attempts = 8;
  policy.base_delay = milliseconds{100};
  policy.max_delay = milliseconds{1000};
  const std::vector<long long> ceilings = {100, 200, 400, 800, 1000, 1000, 1000};

  std::vector<long long> largest(ceilings.size(), 0);
  std::vector<long long> smallest(ceilings.size(), 1000000);
  for (int round = 0; round < 300; ++round) {
    ScriptedTransport inner;
    inner.script = {answer(503)};
    RecordingSleeper sleeper;
    RetryingTransport transport(inner, policy, sleeper.sleeper());
    ASSERT_TRUE(transport.send(request_named("op")).ok());
    ASSERT_EQ(sleeper.sleeps.size(), ceilings.size());
    for (std::size_t i = 0; i < ceilings.size(); ++i) {
      const long long ms = sleeper.sleeps[i].count();
      ASSERT_GE(ms, 0);
      ASSERT_LE(ms, ceilings[i]) << "sleep " << i;
      largest[i] = std::max(largest[i], ms);
      smallest[i] = std::min(smallest[i], ms);
    }
  }
  // Full jitter spreads over the whole range, not a constant.
  for (std::size_t i = 0; i < ceilings.size(); ++i) {
    EXPECT_GT(largest[i], ceilings[i] / 2) << i;
    EXPECT_LT(smallest[i], ceilings[i] / 2) << i;
  }
}

TEST(RetryingTransport, SingleAttemptPolicyNeverRetries) {
  ScriptedTransport inner;
  inner.script = {answer(503)};
  RetryPolicy policy;
  policy.max_attempts = 1;
  RetryingTransport transport(inner, policy, [](milliseconds) { FAIL() << "slept"; });
  auto result = transport.send(request_named("op"));
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result->status, 503);
  EXPECT_EQ(inner.calls, 1);
}

TEST(RetryingTransport, LastAttemptsIsPerThreadAndClearable) {
  ScriptedTransport inner;
  inner.script = {answer(500), answer(200)};
  RetryingTransport transport(inner, RetryPolicy{}, [](milliseconds) {});
  ASSERT_TRUE(transport.send(request_named("op")).ok());
  EXPECT_EQ(RetryingTransport::last_attempts(), 2);

  int seen_on_other_thread = -1;
  std::thread other([&] { seen_on_other_thread = RetryingTransport::last_attempts(); });
  other.join();
  EXPECT_EQ(seen_on_other_thread, 0);

  RetryingTransport::clear_last_attempts();
  EXPECT_EQ(RetryingTransport::last_attempts(), 0);
}

}  // namespace
}  // namespace hsmproof::http
