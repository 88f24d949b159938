#include "http/retry.h"

#include <algorithm>
#include <cctype>
#include <optional>
#include <random>
#include <sstream>
#include <thread>

namespace hsmproof::http {

namespace {

thread_local int t_last_attempts = 0;

// A server's own wait hint is trusted only up to this, so a hostile or broken one can't park us.
constexpr std::chrono::milliseconds kMaxServerDelay{60000};

RetryDecision default_classify_response(const Response& response) {
  const int status = response.status;
  return (status == 408 || status == 429 || (status >= 500 && status <= 599))
             ? RetryDecision::kRetry
             : RetryDecision::kDone;
}

RetryDecision default_classify_error(const Error& error) {
  return error.kind == ErrorKind::kTransport ? RetryDecision::kRetry : RetryDecision::kDone;
}

void default_sleep(std::chrono::milliseconds delay) { std::this_thread::sleep_for(delay); }

std::optional<long long> parse_non_negative_integer(const std::string& text) {
  if (text.empty() || text.size() > 18) return std::nullopt;
  long long value = 0;
  for (const char c : text) {
    if (!std::isdigit(static_cast<unsigned char>(c))) return std::nullopt;
    value = value * 10 + (c - '0');
  }
  return value;
}

std::string trimmed(const std::string& text) {
  const auto begin = text.find_first_not_of(" \t");
  if (begin == std::string::npos) return {};
  const auto end = text.find_last_not_of(" \t");
  return text.substr(begin, end - begin + 1);
}

// IMF-fixdate, the HTTP-date form servers send: "Sun, 06 Nov 1994 08:49:37 GMT".
std::optional<std::chrono::system_clock::time_point> parse_http_date(const std::string& text) {
  static constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                            "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  std::istringstream in(text);
  std::string weekday;
  std::string month_name;
  std::string time_of_day;
  std::string zone;
  int day = 0;
  int year = 0;
  if (!(in >> weekday >> day >> month_name >> year >> time_of_day >> zone)) return std::nullopt;
  std::string rest;
  if (in >> rest) return std::nullopt;
  if (weekday.size() != 4 || weekday.back() != ',' || zone != "GMT") return std::nullopt;
  const auto month_it = std::find(std::begin(kMonths), std::end(kMonths), month_name);
  if (month_it == std::end(kMonths)) return std::nullopt;
  int hours = 0;
  int minutes = 0;
  int seconds = 0;
  char colon1 = 0;
  char colon2 = 0;
  std::istringstream clock_in(time_of_day);
  if (!(clock_in >> hours >> colon1 >> minutes >> colon2 >> seconds) || colon1 != ':' ||
      colon2 != ':' || hours > 23 || minutes > 59 || seconds > 60 || hours < 0 || minutes < 0 ||
      seconds < 0) {
    return std::nullopt;
  }
  const auto month_number = static_cast<unsigned>(month_it - std::begin(kMonths) + 1);
  const std::chrono::year_month_day date{std::chrono::year{year}, std::chrono::month{month_number},
                                         std::chrono::day{static_cast<unsigned>(day)}};
  if (!date.ok()) return std::nullopt;
  return std::chrono::sys_days{date} + std::chrono::hours{hours} + std::chrono::minutes{minutes} +
         std::chrono::seconds{seconds};
}

// Retry-After (seconds or HTTP-date) or retry-after-ms; the finer one wins when both are sent.
std::optional<std::chrono::milliseconds> server_requested_delay(const Response& response) {
  if (const std::string* ms = response.headers.find("retry-after-ms")) {
    if (auto value = parse_non_negative_integer(trimmed(*ms))) {
      return std::chrono::milliseconds{*value};
    }
  }
  if (const std::string* after = response.headers.find("Retry-After")) {
    const std::string value = trimmed(*after);
    if (auto seconds = parse_non_negative_integer(value)) {
      if (*seconds > kMaxServerDelay.count() / 1000) return kMaxServerDelay;
      return std::chrono::milliseconds{*seconds * 1000};
    }
    if (auto at = parse_http_date(value)) {
      const auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(
          *at - std::chrono::system_clock::now());
      return std::max(wait, std::chrono::milliseconds{0});
    }
  }
  return std::nullopt;
}

std::mt19937_64& jitter_engine() {
  thread_local std::mt19937_64 engine{std::random_device{}()};
  return engine;
}

}  // namespace

RetryingTransport::RetryingTransport(Transport& inner, RetryPolicy policy, Sleeper sleeper)
    : inner_(inner), policy_(std::move(policy)), sleeper_(std::move(sleeper)) {
  if (!policy_.classify_response) policy_.classify_response = default_classify_response;
  if (!policy_.classify_error) policy_.classify_error = default_classify_error;
  if (!sleeper_) sleeper_ = default_sleep;
  policy_.max_attempts = std::max(1, policy_.max_attempts);
}

int RetryingTransport::last_attempts() { return t_last_attempts; }

void RetryingTransport::clear_last_attempts() { t_last_attempts = 0; }

std::chrono::milliseconds RetryingTransport::backoff_for(int attempt,
                                                         const Response* response) const {
  if (response != nullptr) {
    if (auto requested = server_requested_delay(*response)) {
      return std::min(*requested, kMaxServerDelay);
    }
  }
  const long long cap_ms = std::max<long long>(0, policy_.max_delay.count());
  long long ceiling_ms = cap_ms;
  // base * 2^attempt, computed so that a large attempt number can't overflow.
  if (attempt < 40) {
    const long long base_ms = std::max<long long>(0, policy_.base_delay.count());
    const long long factor = 1LL << std::max(0, attempt);
    if (base_ms == 0 || base_ms <= cap_ms / factor) ceiling_ms = base_ms * factor;
  }
  // "Full jitter": clients that failed together don't come back together.
  std::uniform_int_distribution<long long> jitter(0, ceiling_ms);
  return std::chrono::milliseconds{jitter(jitter_engine())};
}

Result<Response> RetryingTransport::send(const Request& request) {
  for (int attempt = 1;; ++attempt) {
    Result<Response> result = inner_.send(request);
    // Set after the inner call: an inner transport may itself be a retrying one.
    t_last_attempts = attempt;
    const bool out_of_attempts = attempt >= policy_.max_attempts;
    if (result.ok()) {
      if (out_of_attempts || policy_.classify_response(result.value()) == RetryDecision::kDone) {
        return result;
      }
      sleeper_(backoff_for(attempt - 1, &result.value()));
    } else {
      if (out_of_attempts || policy_.classify_error(result.error()) == RetryDecision::kDone) {
        if (attempt == 1) return result;
        Error error = result.error();
        error.message += " after " + std::to_string(attempt) + " attempts";
        return error;
      }
      sleeper_(backoff_for(attempt - 1, nullptr));
    }
    t_last_attempts = attempt;
  }
}

}  // namespace hsmproof::http
