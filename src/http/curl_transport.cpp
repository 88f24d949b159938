#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <limits>
#include <mutex>
#include <string>

#include "http/transport.h"

namespace hsmproof::http {

namespace {

struct GlobalInit {
  std::once_flag once;
  CURLcode code = CURLE_OK;
};

CURLcode ensure_curl_global_init() {
  static GlobalInit init;
  std::call_once(init.once, [] { init.code = curl_global_init(CURL_GLOBAL_DEFAULT); });
  return init.code;
}

// One easy handle per thread, kept for the thread's life: curl_easy_reset keeps the handle's
// connection cache, so consecutive requests to the same host reuse the TLS connection.
class ThreadEasyHandle {
 public:
  ThreadEasyHandle() : handle_(curl_easy_init()) {}
  ~ThreadEasyHandle() {
    if (handle_ != nullptr) curl_easy_cleanup(handle_);
  }
  ThreadEasyHandle(const ThreadEasyHandle&) = delete;
  ThreadEasyHandle& operator=(const ThreadEasyHandle&) = delete;
  [[nodiscard]] CURL* get() const { return handle_; }

 private:
  CURL* handle_;
};

CURL* thread_easy_handle() {
  thread_local ThreadEasyHandle handle;
  return handle.get();
}

class HeaderList {
 public:
  HeaderList() = default;
  ~HeaderList() { curl_slist_free_all(list_); }
  HeaderList(const HeaderList&) = delete;
  HeaderList& operator=(const HeaderList&) = delete;

  bool append(const std::string& line) {
    curl_slist* next = curl_slist_append(list_, line.c_str());
    if (next == nullptr) return false;
    list_ = next;
    return true;
  }
  [[nodiscard]] curl_slist* get() const { return list_; }

 private:
  curl_slist* list_ = nullptr;
};

struct Transfer {
  Response response;
  std::size_t max_body_bytes = 0;
  bool body_too_large = false;
};

std::string trim(const std::string& text) {
  const auto begin = text.find_first_not_of(" \t");
  if (begin == std::string::npos) return {};
  const auto end = text.find_last_not_of(" \t");
  return text.substr(begin, end - begin + 1);
}

size_t on_body(char* data, size_t size, size_t count, void* user) {
  auto* transfer = static_cast<Transfer*>(user);
  const size_t bytes = size * count;
  if (transfer->response.body.size() + bytes > transfer->max_body_bytes) {
    transfer->body_too_large = true;
    return 0;  // anything but `bytes` aborts the transfer with CURLE_WRITE_ERROR
  }
  transfer->response.body.append(data, bytes);
  return bytes;
}

size_t on_header(char* data, size_t size, size_t count, void* user) {
  auto* transfer = static_cast<Transfer*>(user);
  const size_t bytes = size * count;
  std::string line(data, bytes);
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.pop_back();
  auto& entries = transfer->response.headers.entries;
  if (line.rfind("HTTP/", 0) == 0) {
    // A new status line: headers of an interim answer (100 Continue, proxy CONNECT) are dropped.
    entries.clear();
  } else if (!line.empty() && (line.front() == ' ' || line.front() == '\t')) {
    if (!entries.empty()) entries.back().second += " " + trim(line);  // obsolete line folding
  } else if (const auto colon = line.find(':'); colon != std::string::npos) {
    entries.emplace_back(line.substr(0, colon), trim(line.substr(colon + 1)));
  }
  return bytes;
}

std::string trim_line_end(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' ')) {
    text.pop_back();
  }
  return text;
}

bool has_line_break(const std::string& text) {
  return text.find_first_of("\r\n") != std::string::npos;
}

std::string ms_text(std::chrono::milliseconds ms) { return std::to_string(ms.count()) + " ms"; }

class CurlTransport final : public Transport {
 public:
  explicit CurlTransport(TransportOptions options) : options_(std::move(options)) {}

  Result<Response> send(const Request& request) override {
    const std::string authority = url_authority(request.url);
    auto fail = [&](ErrorKind kind, const std::string& what) {
      Error error;
      error.kind = kind;
      error.operation = request.operation;
      error.message = "request to " + (authority.empty() ? std::string("(no host)") : authority) +
                      " failed: " + what;
      return error;
    };

    if (ensure_curl_global_init() != CURLE_OK) {
      return fail(ErrorKind::kInternal, "libcurl could not be initialised");
    }
    CURL* curl = thread_easy_handle();
    if (curl == nullptr) return fail(ErrorKind::kInternal, "libcurl handle could not be created");
    curl_easy_reset(curl);

    HeaderList header_list;
    if (auto status = build_headers(request, header_list); !status.ok()) {
      return fail(ErrorKind::kUsage, status.error().message);
    }

    Transfer transfer;
    transfer.max_body_bytes = options_.max_response_bytes;
    char error_buffer[CURL_ERROR_SIZE] = {};
    const auto max_bytes = static_cast<curl_off_t>(
        std::min<std::size_t>(options_.max_response_bytes,
                              static_cast<std::size_t>(std::numeric_limits<curl_off_t>::max())));

    curl_easy_setopt(curl, CURLOPT_URL, request.url.c_str());
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);  // no SIGALRM games in a threaded program
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS,
                     static_cast<long>(options_.connect_timeout.count()));
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(options_.total_timeout.count()));
    curl_easy_setopt(curl, CURLOPT_MAXFILESIZE_LARGE, max_bytes);
    curl_easy_setopt(curl, CURLOPT_TCP_KEEPALIVE, 1L);
    if (!options_.ca_bundle_path.empty()) {
      curl_easy_setopt(curl, CURLOPT_CAINFO, options_.ca_bundle_path.c_str());
    }
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error_buffer);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &transfer);
    curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(curl, CURLOPT_HEADERDATA, &transfer);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, header_list.get());
    set_method_and_body(curl, request);

    const CURLcode code = curl_easy_perform(curl);
    // The handle outlives this call; it must not keep pointers into this stack frame.
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, nullptr);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, nullptr);

    if (code != CURLE_OK)
      return fail(classify(code, transfer), describe(code, transfer, error_buffer));

    long status = 0;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    if (status <= 0) return fail(ErrorKind::kTransport, "no HTTP status line in the answer");
    transfer.response.status = static_cast<int>(status);
    return std::move(transfer.response);
  }

 private:
  Status build_headers(const Request& request, HeaderList& list) const {
    Error error;
    for (const auto& [name, value] : request.headers.entries) {
      if (name.empty() || has_line_break(name) || has_line_break(value) ||
          name.find(':') != std::string::npos) {
        error.message = "header '" + name.substr(0, 64) + "' is not a valid HTTP header";
        return error;
      }
      // libcurl writes Content-Length from the body it sends; a second one would be ambiguous.
      if (request_header_is(name, "content-length")) continue;
      // "Name;" is libcurl's spelling of a header with an empty value ("Name:" would remove it).
      std::string line = name;
      line += value.empty() ? ";" : ": ";
      line += value;
      if (!list.append(line)) {
        error.message = "out of memory building headers";
        return error;
      }
    }
    // libcurl adds these on its own unless told not to; the request's headers go out exactly.
    bool appended = true;
    if (request.headers.find("Expect") == nullptr) appended = appended && list.append("Expect:");
    if (request.headers.find("Accept") == nullptr) appended = appended && list.append("Accept:");
    if (request.headers.find("Content-Type") == nullptr) {
      appended = appended && list.append("Content-Type:");
    }
    if (request.headers.find("User-Agent") == nullptr && !options_.user_agent.empty()) {
      appended = appended && list.append("User-Agent: " + options_.user_agent);
    }
    if (!appended) {
      error.message = "out of memory building headers";
      return error;
    }
    return ok_status();
  }

  static bool request_header_is(const std::string& name, const char* lower_name) {
    std::string lowered = name;
    std::transform(lowered.begin(), lowered.end(), lowered.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return lowered == lower_name;
  }

  static void set_method_and_body(CURL* curl, const Request& request) {
    const bool has_body = !request.body.empty();
    if (request.method == "GET" && !has_body) {
      curl_easy_setopt(curl, CURLOPT_HTTPGET, 1L);
      return;
    }
    if (request.method == "HEAD") {
      curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
      return;
    }
    if (request.method == "POST" || has_body) {
      // POSTFIELDS with an explicit size sends Content-Length, also "Content-Length: 0".
      curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE,
                       static_cast<curl_off_t>(request.body.size()));
      curl_easy_setopt(curl, CURLOPT_POSTFIELDS, request.body.data());
    }
    if (request.method != "POST") {
      curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, request.method.c_str());
    }
  }

  // A body over the limit is a property of the answer, not of the network: retrying won't help.
  static ErrorKind classify(CURLcode code, const Transfer& transfer) {
    if (code == CURLE_FILESIZE_EXCEEDED || (code == CURLE_WRITE_ERROR && transfer.body_too_large)) {
      return ErrorKind::kMalformed;
    }
    return ErrorKind::kTransport;
  }

  [[nodiscard]] std::string describe(CURLcode code, const Transfer& transfer,
                                     const char* error_buffer) const {
    std::string detail =
        trim_line_end(error_buffer[0] != '\0' ? error_buffer : curl_easy_strerror(code));
    const std::string got = std::to_string(transfer.response.body.size());
    switch (code) {
      case CURLE_FILESIZE_EXCEEDED:
      case CURLE_WRITE_ERROR:
        if (code == CURLE_FILESIZE_EXCEEDED || transfer.body_too_large) {
          return "response body larger than the limit of " +
                 std::to_string(options_.max_response_bytes) + " bytes";
        }
        return "could not store the response: " + detail;
      case CURLE_PARTIAL_FILE:
        return "connection closed before the whole response arrived (" + got +
               " body bytes received): " + detail;
      case CURLE_OPERATION_TIMEDOUT:
        return "timed out (connect limit " + ms_text(options_.connect_timeout) + ", total limit " +
               ms_text(options_.total_timeout) + ", " + got + " body bytes received): " + detail;
      case CURLE_COULDNT_RESOLVE_HOST:
        return "host name could not be resolved: " + detail;
      case CURLE_COULDNT_CONNECT:
        return "could not connect: " + detail;
      case CURLE_SEND_ERROR:
      case CURLE_RECV_ERROR:
      case CURLE_GOT_NOTHING:
        return "connection failed or was reset (" + got + " body bytes received): " + detail;
      case CURLE_SSL_CONNECT_ERROR:
      case CURLE_PEER_FAILED_VERIFICATION:
      case CURLE_SSL_CACERT_BADFILE:
      case CURLE_SSL_CERTPROBLEM:
        return "TLS failure: " + detail;
      case CURLE_UNSUPPORTED_PROTOCOL:
      case CURLE_URL_MALFORMAT:
        return "invalid URL: " + detail;
      default:
        return detail;
    }
  }

  TransportOptions options_;
};

}  // namespace

std::unique_ptr<Transport> make_curl_transport(const TransportOptions& options) {
  ensure_curl_global_init();
  return std::make_unique<CurlTransport>(options);
}

}  // namespace hsmproof::http
