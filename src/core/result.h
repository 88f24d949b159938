#pragma once
// Errors are values with context; Result<T> holds a value or the error that prevented it.
// Rules turn an error into `incomplete`, never into a default value.

#include <cassert>
#include <optional>
#include <string>
#include <utility>
#include <variant>

namespace hsmproof {

enum class ErrorKind {
  kTransport,    // connection refused/reset, timeout, TLS failure
  kHttp,         // the service answered with an error status
  kMalformed,    // the body could not be parsed or was truncated
  kCredentials,  // credentials missing or rejected
  kUsage,        // bad input from the user
  kInternal,
};

struct Error {
  ErrorKind kind = ErrorKind::kInternal;
  std::string message;        // human-readable, never contains secrets
  std::string operation;      // e.g. "kms:ListKeys"
  std::string region;         // AWS region or Azure location, if any
  std::string resource;       // resource id the call was about, if any
  int http_status = 0;        // 0 when no HTTP answer arrived
  std::string provider_code;  // e.g. "AccessDeniedException"
  std::string request_id;     // the provider's request id, if any

  // One line: "kms:ListKeys in eu-west-1: AccessDeniedException (HTTP 400, request id ...): message"
  [[nodiscard]] std::string describe() const;
};

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : state_(std::move(value)) {}          // NOLINT(google-explicit-constructor)
  Result(Error error) : state_(std::move(error)) {}      // NOLINT(google-explicit-constructor)

  [[nodiscard]] bool ok() const { return std::holds_alternative<T>(state_); }
  explicit operator bool() const { return ok(); }

  [[nodiscard]] const T& value() const& {
    assert(ok());
    return std::get<T>(state_);
  }
  [[nodiscard]] T& value() & {
    assert(ok());
    return std::get<T>(state_);
  }
  [[nodiscard]] T&& value() && {
    assert(ok());
    return std::get<T>(std::move(state_));
  }
  [[nodiscard]] const Error& error() const {
    assert(!ok());
    return std::get<Error>(state_);
  }
  const T* operator->() const { return &value(); }
  const T& operator*() const { return value(); }

 private:
  std::variant<T, Error> state_;
};

// For operations that produce nothing but may fail.
struct Unit {};
using Status = Result<Unit>;
inline Status ok_status() { return Unit{}; }

}  // namespace hsmproof
