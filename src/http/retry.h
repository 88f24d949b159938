#pragma once
// Retries with capped, jittered exponential backoff ("full jitter"), honouring Retry-After and
// retry-after-ms when a service sends them. What counts as retryable is the caller's policy
// (AWS signals throttling in 400 bodies); the looping and the waiting happen here only.

#include <chrono>
#include <functional>
#include <memory>

#include "http/transport.h"

namespace hsmproof::http {

enum class RetryDecision { kDone, kRetry };

struct RetryPolicy {
  int max_attempts = 5;  // total attempts, first one included
  std::chrono::milliseconds base_delay{100};
  std::chrono::milliseconds max_delay{5000};
  // Decides on a complete answer; default: retry 408, 429 and 5xx.
  std::function<RetryDecision(const Response&)> classify_response;
  // Decides on a failure without a complete answer; default: retry kTransport (connection
  // reset, timeout), not the rest (e.g. kMalformed for an over-long body).
  std::function<RetryDecision(const Error&)> classify_error;
};

// Sleeps are injectable so tests don't wait.
using Sleeper = std::function<void(std::chrono::milliseconds)>;

class RetryingTransport final : public Transport {
 public:
  RetryingTransport(Transport& inner, RetryPolicy policy, Sleeper sleeper = {});
  Result<Response> send(const Request& request) override;

  // Attempts made for the last request on this thread (for tests and reports). A caller that may
  // be handed a non-retrying transport clears it first and reads 0 as "one attempt".
  static int last_attempts();
  static void clear_last_attempts();

 private:
  std::chrono::milliseconds backoff_for(int attempt, const Response* response) const;

  Transport& inner_;
  RetryPolicy policy_;
  Sleeper sleeper_;
};

}  // namespace hsmproof::http
