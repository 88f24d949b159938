#pragma once
// The transport interface: one blocking request/response. Implementations: libcurl, retrying
// decorator, and fakes in tests. Retries, backoff and rate limits live in this layer only.

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/result.h"

namespace hsmproof::http {

// Header names compare case-insensitively; order is kept as sent/received.
struct Headers {
  std::vector<std::pair<std::string, std::string>> entries;

  void set(const std::string& name, const std::string& value);  // replaces any existing
  void add(const std::string& name, const std::string& value);
  [[nodiscard]] const std::string* find(const std::string& name) const;
  [[nodiscard]] std::string get(const std::string& name) const;  // "" when absent
};

struct Request {
  std::string method = "GET";
  std::string url;  // absolute: scheme://host[:port]/path?query
  Headers headers;
  std::string body;
  // Names the call for errors and progress ("kms:ListKeys"); never sent.
  std::string operation;
};

struct Response {
  int status = 0;
  Headers headers;
  std::string body;
};

class Transport {
 public:
  virtual ~Transport() = default;
  // A Response is returned for any HTTP answer, whatever its status; an Error only when no
  // complete answer arrived (connection refused/reset, timeout, TLS, truncated transfer).
  virtual Result<Response> send(const Request& request) = 0;
};

// Sent when a request carries no User-Agent of its own. The CLI sets TransportOptions::user_agent
// from its build's HSMPROOF_VERSION; this default keeps other users (tests, tools) identifiable.
inline constexpr const char* kDefaultUserAgent = "hsmproof/0.1.0";

struct TransportOptions {
  std::string ca_bundle_path;  // AWS_CA_BUNDLE / SSL_CERT_FILE; empty = system store
  std::chrono::milliseconds connect_timeout{10000};
  std::chrono::milliseconds total_timeout{60000};
  std::size_t max_response_bytes = std::size_t{256} * 1024U * 1024U;  // refuse absurd bodies
  std::string user_agent = kDefaultUserAgent;                         // e.g. "hsmproof/0.1.0"
};

// libcurl-backed transport, safe to call from many threads at once (one easy handle per thread,
// so connections are reused).
std::unique_ptr<Transport> make_curl_transport(const TransportOptions& options);

// Plain http:// is allowed only to loopback hosts; credentials never travel in clear elsewhere.
Status check_endpoint_scheme(const std::string& url);

// "host[:port]" of an absolute URL, without scheme, user info or path ("" when there is none).
// Error messages name this, never the whole URL.
std::string url_authority(const std::string& url);

}  // namespace hsmproof::http
