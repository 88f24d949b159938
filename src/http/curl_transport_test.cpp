// The libcurl transport against real servers on 127.0.0.1: cpp-httplib for well-behaved HTTP and
// TLS, and raw sockets for servers that misbehave (truncate, reset).
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <functional>
#include <mutex>
#include <set>
#include <thread>

#include "http/transport.h"

namespace hsmproof::http {
namespace {

using std::chrono::milliseconds;

// An httplib server on a free loopback port, stopped and joined on destruction.
class LocalServer {
 public:
  explicit LocalServer(
      std::unique_ptr<httplib::Server> server = std::make_unique<httplib::Server>())
      : server_(std::move(server)) {}
  ~LocalServer() {
    server_->stop();
    if (thread_.joinable()) thread_.join();
  }
  LocalServer(const LocalServer&) = delete;
  LocalServer& operator=(const LocalServer&) = delete;

  httplib::Server& server() { return *server_; }

  void start() {
    // The transport keeps idle connections open (that's the point); a short keep-alive lets the
    // server's workers, and so the test, finish quickly.
    server_->set_keep_alive_timeout(1);
    port_ = server_->bind_to_any_port("127.0.0.1");
    ASSERT_GT(port_, 0);
    thread_ = std::thread([this] { server_->listen_after_bind(); });
    for (int i = 0; i < 2000 && !server_->is_running(); ++i) {
      std::this_thread::sleep_for(milliseconds{1});
    }
    ASSERT_TRUE(server_->is_running());
  }

  [[nodiscard]] std::string url(const std::string& path, const std::string& scheme = "http") const {
    return scheme + "://127.0.0.1:" + std::to_string(port_) + path;
  }

 private:
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  int port_ = 0;
};

// Reads an HTTP request head (enough for these tests, which send no bodies to raw servers).
std::string read_request_head(int fd) {
  std::string received;
  char buffer[4096];
  while (received.find("\r\n\r\n") == std::string::npos) {
    const ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
    if (n <= 0) return received;
    received.append(buffer, static_cast<std::size_t>(n));
  }
  return received;
}

void send_all(int fd, const std::string& data) {
  std::size_t sent = 0;
  while (sent < data.size()) {
    const ssize_t n = ::send(fd, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) return;
    sent += static_cast<std::size_t>(n);
  }
}

// Closing with SO_LINGER 0 makes the kernel send RST instead of FIN.
void reset_connection(int fd) {
  linger abort_on_close{1, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &abort_on_close, sizeof abort_on_close);
  ::close(fd);
}

// A TCP server that hands each accepted connection to a handler, for misbehaving peers.
class RawServer {
 public:
  explicit RawServer(std::function<void(int)> on_connection)
      : on_connection_(std::move(on_connection)) {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = 0;
    if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
        ::listen(listen_fd_, 16) != 0) {
      ADD_FAILURE() << "raw server could not listen";
      return;
    }
    socklen_t length = sizeof address;
    ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&address), &length);
    port_ = ntohs(address.sin_port);
    thread_ = std::thread([this] {
      while (true) {
        const int fd = ::accept(listen_fd_, nullptr, nullptr);
        if (fd < 0) return;
        ++connections_;
        on_connection_(fd);
      }
    });
  }
  ~RawServer() {
    ::shutdown(listen_fd_, SHUT_RDWR);  // wakes accept()
    if (thread_.joinable()) thread_.join();
    ::close(listen_fd_);
  }
  RawServer(const RawServer&) = delete;
  RawServer& operator=(const RawServer&) = delete;

  [[nodiscard]] std::string url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }
  [[nodiscard]] int connections() const { return connections_; }

 private:
  std::function<void(int)> on_connection_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<int> connections_{0};
  std::thread thread_;
};

// What the server saw of the last request.
struct Seen {
  std::mutex mutex;
  std::string method;
  std::string body;
  httplib::Headers headers;
  std::vector<int> remote_ports;
  int requests = 0;

  void record(const httplib::Request& request) {
    std::lock_guard lock(mutex);
    method = request.method;
    body = request.body;
    headers = request.headers;
    remote_ports.push_back(request.remote_port);
    ++requests;
  }
  std::size_t count(const std::string& name) {
    std::lock_guard lock(mutex);
    return headers.count(name);
  }
  std::string header(const std::string& name) {
    std::lock_guard lock(mutex);
    auto it = headers.find(name);
    return it == headers.end() ? std::string("<absent>") : it->second;
  }
};

Request get(const std::string& url) {
  Request request;
  request.method = "GET";
  request.url = url;
  request.operation = "test:Get";
  return request;
}

TransportOptions fast_options() {
  TransportOptions options;
  options.connect_timeout = milliseconds{2000};
  options.total_timeout = milliseconds{5000};
  return options;
}

TEST(CurlTransport, StatusHeadersAndBodyRoundTrip) {
  LocalServer local;
  Seen seen;
  local.server().Get("/hello", [&](const httplib::Request& request, httplib::Response& response) {
    seen.record(request);
    response.status = 201;
    response.set_header("X-Reply", "yes");
    response.set_header("x-amzn-RequestId", "req-123");
    response.set_content("hello body", "text/plain");
  });
  local.start();

  auto transport = make_curl_transport(fast_options());
  Request request = get(local.url("/hello?a=1"));
  request.headers.add("X-Custom", "value 1");
  auto result = transport->send(request);

  ASSERT_TRUE(result.ok()) << result.error().describe();
  EXPECT_EQ(result->status, 201);
  EXPECT_EQ(result->body, "hello body");
  EXPECT_EQ(result->headers.get("x-reply"), "yes");
  EXPECT_EQ(result->headers.get("X-AMZN-REQUESTID"), "req-123");
  EXPECT_EQ(result->headers.get("Content-Type"), "text/plain");

  EXPECT_EQ(seen.method, "GET");
  EXPECT_EQ(seen.header("X-Custom"), "value 1");
  EXPECT_EQ(seen.header("User-Agent"), kDefaultUserAgent);
}

TEST(CurlTransport, SendsExactlyTheRequestHeaders) {
  std::mutex mutex;
  std::string head;
  RawServer raw([&](int fd) {
    std::string received = read_request_head(fd);
    {
      std::lock_guard lock(mutex);
      head = received;
    }
    send_all(fd, "HTTP/1.1 204 No Content\r\n\r\n");
    ::close(fd);
  });
  auto transport = make_curl_transport(fast_options());
  Request request = get(raw.url("/path?q=1"));
  request.headers.add("Host", "127.0.0.1");
  request.headers.add("X-Amz-Date", "20150830T123600Z");
  request.headers.add("X-Empty", "");
  auto result = transport->send(request);
  ASSERT_TRUE(result.ok()) << result.error().describe();
  EXPECT_EQ(result->status, 204);

  std::lock_guard lock(mutex);
  EXPECT_EQ(head,
            "GET /path?q=1 HTTP/1.1\r\n"
            "Host: 127.0.0.1\r\n"
            "X-Amz-Date: 20150830T123600Z\r\n"
            "X-Empty:\r\n"
            "User-Agent: " +
                std::string(kDefaultUserAgent) + "\r\n\r\n");
}

TEST(CurlTransport, HeadersThatWouldSplitTheRequestAreRefused) {
  auto transport = make_curl_transport(fast_options());
  Request request = get("http://127.0.0.1:9/");
  request.headers.add("X-Injected", "a\r\nX-Evil: 1");
  auto result = transport->send(request);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().kind, ErrorKind::kUsage);
  EXPECT_NE(result.error().message.find("X-Injected"), std::string::npos);
}

TEST(CurlTransport, PostSendsTheBodyWithContentLengthAndNoExpect) {
  LocalServer local;
  Seen seen;
  local.server().Post("/", [&](const httplib::Request& request, httplib::Response& response) {
    seen.record(request);
    response.set_content("{}", "application/x-amz-json-1.1");
  });
  local.start();

  auto transport = make_curl_transport(fast_options());
  Request request;
  request.method = "POST";
  request.url = local.url("/");
  request.headers.add("Content-Type", "application/x-amz-json-1.1");
  request.headers.add("X-Amz-Target", "TrentService.ListKeys");
  request.headers.add("User-Agent", "custom-agent/2");
  // Large bodies are where libcurl would add "Expect: 100-continue" on its own.
  request.body = "{\"Padding\":\"" + std::string(std::size_t{1536} * 1024U, 'x') + "\"}";
  auto result = transport->send(request);

  ASSERT_TRUE(result.ok()) << result.error().describe();
  EXPECT_EQ(result->status, 200);
  EXPECT_EQ(result->body, "{}");
  EXPECT_EQ(seen.method, "POST");
  EXPECT_EQ(seen.body, request.body);
  EXPECT_EQ(seen.header("Content-Length"), std::to_string(request.body.size()));
  EXPECT_EQ(seen.header("Content-Type"), "application/x-amz-json-1.1");
  EXPECT_EQ(seen.header("X-Amz-Target"), "TrentService.ListKeys");
  EXPECT_EQ(seen.count("Expect"), 0U);
  EXPECT_EQ(seen.count("User-Agent"), 1U);
  EXPECT_EQ(seen.header("User-Agent"), "custom-agent/2");
}

TEST(CurlTransport, EmptyPostSendsContentLengthZero) {
  LocalServer local;
  Seen seen;
  local.server().Post("/token", [&](const httplib::Request& request, httplib::Response& response) {
    seen.record(request);
    response.set_content("t", "text/plain");
  });
  local.start();

  auto transport = make_curl_transport(fast_options());
  Request request;
  request.method = "POST";
  request.url = local.url("/token");
  // A stale Content-Length from the caller must not contradict the body actually sent.
  request.headers.add("Content-Length", "99");
  auto result = transport->send(request);
  ASSERT_TRUE(result.ok()) << result.error().describe();
  EXPECT_EQ(result->status, 200);
  EXPECT_EQ(seen.header("Content-Length"), "0");
  EXPECT_EQ(seen.body, "");
}

TEST(CurlTransport, OtherMethodsAreSentAsGiven) {
  LocalServer local;
  Seen seen;
  auto record = [&](const httplib::Request& request, httplib::Response& response) {
    seen.record(request);
    response.set_content(request.method, "text/plain");
  };
  local.server().Put("/item", record);
  local.server().Delete("/item", record);
  local.start();

  auto transport = make_curl_transport(fast_options());
  Request put;
  put.method = "PUT";
  put.url = local.url("/item");
  put.body = "new";
  auto put_result = transport->send(put);
  ASSERT_TRUE(put_result.ok()) << put_result.error().describe();
  EXPECT_EQ(put_result->body, "PUT");
  EXPECT_EQ(seen.body, "new");

  Request remove;
  remove.method = "DELETE";
  remove.url = local.url("/item");
  auto delete_result = transport->send(remove);
  ASSERT_TRUE(delete_result.ok()) << delete_result.error().describe();
  EXPECT_EQ(delete_result->body, "DELETE");
}

TEST(CurlTransport, ErrorStatusesAreResponsesNotErrors) {
  LocalServer local;
  local.server().Get("/fail", [](const httplib::Request&, httplib::Response& response) {
    response.status = 500;
    response.set_content("{\"__type\":\"KMSInternalException\"}", "application/x-amz-json-1.1");
  });
  local.start();

  auto transport = make_curl_transport(fast_options());
  auto result = transport->send(get(local.url("/fail")));
  ASSERT_TRUE(result.ok()) << result.error().describe();
  EXPECT_EQ(result->status, 500);
  EXPECT_EQ(result->body, "{\"__type\":\"KMSInternalException\"}");

  auto missing = transport->send(get(local.url("/nowhere")));
  ASSERT_TRUE(missing.ok());
  EXPECT_EQ(missing->status, 404);
}

TEST(CurlTransport, RedirectsAreNotFollowed) {
  LocalServer local;
  std::atomic<int> followed{0};
  local.server().Get("/from", [](const httplib::Request&, httplib::Response& response) {
    response.set_redirect("/to");
  });
  local.server().Get("/to", [&](const httplib::Request&, httplib::Response& response) {
    ++followed;
    response.set_content("moved", "text/plain");
  });
  local.start();

  auto transport = make_curl_transport(fast_options());
  auto result = transport->send(get(local.url("/from")));
  ASSERT_TRUE(result.ok()) << result.error().describe();
  EXPECT_EQ(result->status, 302);
  EXPECT_EQ(result->headers.get("Location"), "/to");
  EXPECT_EQ(followed.load(), 0);
}

TEST(CurlTransport, TruncatedBodyIsAnErrorNeverAShortBody) {
  RawServer raw([](int fd) {
    read_request_head(fd);
    send_all(fd,
             "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n");
    send_all(fd, "{\"Keys\":[");  // 10 of the 100 announced bytes
    ::close(fd);
  });
  auto transport = make_curl_transport(fast_options());
  auto result = transport->send(get(raw.url("/")));
  ASSERT_FALSE(result.ok()) << "got a body of " << result->body.size() << " bytes";
  EXPECT_EQ(result.error().kind, ErrorKind::kTransport);
  EXPECT_EQ(result.error().operation, "test:Get");
  EXPECT_NE(result.error().message.find("127.0.0.1"), std::string::npos) << result.error().message;
  EXPECT_NE(result.error().message.find("closed before the whole response"), std::string::npos)
      << result.error().message;
}

TEST(CurlTransport, TruncatedChunkedBodyIsAnError) {
  RawServer raw([](int fd) {
    read_request_head(fd);
    send_all(fd, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\na\r\n0123456789\r\n");
    ::close(fd);  // no terminating zero-size chunk
  });
  auto transport = make_curl_transport(fast_options());
  auto result = transport->send(get(raw.url("/")));
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().kind, ErrorKind::kTransport);
}

TEST(CurlTransport, ConnectionResetIsAnError) {
  RawServer before_answer([](int fd) {
    read_request_head(fd);
    reset_connection(fd);
  });
  RawServer mid_body([](int fd) {
    read_request_head(fd);
    send_all(fd, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789");
    std::this_thread::sleep_for(milliseconds{50});
    reset_connection(fd);
  });
  auto transport = make_curl_transport(fast_options());
  for (RawServer* raw : {&before_answer, &mid_body}) {
    auto result = transport->send(get(raw->url("/")));
    ASSERT_FALSE(result.ok());
    EXPECT_EQ(result.error().kind, ErrorKind::kTransport);
    EXPECT_EQ(result.error().http_status, 0);
    EXPECT_NE(result.error().message.find("127.0.0.1"), std::string::npos);
  }
}

TEST(CurlTransport, ConnectionRefusedIsAnErrorThatKeepsSecretsOut) {
  // A port that was free a moment ago and has no listener now.
  const int probe = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(probe, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
  socklen_t length = sizeof address;
  ::getsockname(probe, reinterpret_cast<sockaddr*>(&address), &length);
  const int port = ntohs(address.sin_port);
  ::close(probe);

  auto transport = make_curl_transport(fast_options());
  Request request = get("http://user:hunter2@127.0.0.1:" + std::to_string(port) +
                        "/path?X-Amz-Signature=deadbeef");
  request.operation = "kms:ListKeys";
  auto result = transport->send(request);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().kind, ErrorKind::kTransport);
  EXPECT_EQ(result.error().operation, "kms:ListKeys");
  const std::string& message = result.error().message;
  EXPECT_NE(message.find("127.0.0.1:" + std::to_string(port)), std::string::npos) << message;
  EXPECT_NE(message.find("could not connect"), std::string::npos) << message;
  EXPECT_EQ(message.find("hunter2"), std::string::npos) << message;
  EXPECT_EQ(message.find("deadbeef"), std::string::npos) << message;
  EXPECT_EQ(message.find('\n'), std::string::npos) << message;
}

TEST(CurlTransport, SlowServerTimesOut) {
  LocalServer local;
  local.server().Get("/slow", [](const httplib::Request&, httplib::Response& response) {
    std::this_thread::sleep_for(milliseconds{800});
    response.set_content("late", "text/plain");
  });
  local.start();

  TransportOptions options = fast_options();
  options.total_timeout = milliseconds{200};
  auto transport = make_curl_transport(options);
  auto result = transport->send(get(local.url("/slow")));
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().kind, ErrorKind::kTransport);
  EXPECT_NE(result.error().message.find("timed out"), std::string::npos) << result.error().message;
}

TEST(CurlTransport, BodiesOverTheLimitAreRefused) {
  LocalServer local;
  local.server().Get("/sized", [](const httplib::Request&, httplib::Response& response) {
    response.set_content(std::string(5000, 'a'), "text/plain");
  });
  local.server().Get("/chunked", [](const httplib::Request&, httplib::Response& response) {
    response.set_chunked_content_provider("text/plain", [](size_t, httplib::DataSink& sink) {
      const std::string piece(1000, 'b');
      for (int i = 0; i < 5; ++i) sink.write(piece.data(), piece.size());
      sink.done();
      return true;
    });
  });
  local.server().Get("/exact", [](const httplib::Request&, httplib::Response& response) {
    response.set_content(std::string(1000, 'c'), "text/plain");
  });
  local.start();

  TransportOptions options = fast_options();
  options.max_response_bytes = 1000;
  auto transport = make_curl_transport(options);
  for (const char* path : {"/sized", "/chunked"}) {
    auto result = transport->send(get(local.url(path)));
    ASSERT_FALSE(result.ok()) << path;
    EXPECT_EQ(result.error().kind, ErrorKind::kMalformed) << path;
    EXPECT_NE(result.error().message.find("limit of 1000 bytes"), std::string::npos)
        << result.error().message;
  }
  auto exact = transport->send(get(local.url("/exact")));
  ASSERT_TRUE(exact.ok()) << exact.error().describe();
  EXPECT_EQ(exact->body.size(), 1000U);
}

TEST(CurlTransport, KeepAliveConnectionIsReusedOnTheSameThread) {
  LocalServer local;
  Seen seen;
  local.server().Get("/", [&](const httplib::Request& request, httplib::Response& response) {
    seen.record(request);
    response.set_content("x", "text/plain");
  });
  local.start();

  auto transport = make_curl_transport(fast_options());
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(transport->send(get(local.url("/"))).ok());
  // A second transport on the same thread shares the thread's handle and its connections.
  auto second = make_curl_transport(fast_options());
  ASSERT_TRUE(second->send(get(local.url("/"))).ok());
  std::lock_guard lock(seen.mutex);
  ASSERT_EQ(seen.remote_ports.size(), 4U);
  EXPECT_EQ(std::set<int>(seen.remote_ports.begin(), seen.remote_ports.end()).size(), 1U);
}

TEST(CurlTransport, ConcurrentUseFromEightThreads) {
  auto server = std::make_unique<httplib::Server>();
  server->new_task_queue = [] { return new httplib::ThreadPool(8); };
  LocalServer local(std::move(server));
  std::atomic<int> served{0};
  local.server().Get("/echo", [&](const httplib::Request& request, httplib::Response& response) {
    ++served;
    response.set_content("echo " + request.get_param_value("id"), "text/plain");
  });
  local.start();

  auto transport = make_curl_transport(fast_options());
  constexpr int kThreads = 8;
  constexpr int kRequestsEach = 25;
  std::atomic<int> mismatches{0};
  std::vector<std::thread> threads;
  threads.reserve(kThreads);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kRequestsEach; ++i) {
        const std::string id = std::to_string(t) + "-" + std::to_string(i);
        auto result = transport->send(get(local.url("/echo?id=" + id)));
        if (!result.ok() || result->status != 200 || result->body != "echo " + id) ++mismatches;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(mismatches.load(), 0);
  EXPECT_EQ(served.load(), kThreads * kRequestsEach);
}

// --- TLS: a test CA made at run time, so CURLOPT_CAINFO is exercised for real. ---

struct PkeyFree {
  void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};
struct X509Free {
  void operator()(X509* cert) const { X509_free(cert); }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;
using X509Ptr = std::unique_ptr<X509, X509Free>;

void add_extension(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX context;
  X509V3_set_ctx_nodb(&context);
  X509V3_set_ctx(&context, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* extension = X509V3_EXT_conf_nid(nullptr, &context, nid, value);
  ASSERT_NE(extension, nullptr) << value;
  X509_add_ext(cert, extension, -1);
  X509_EXTENSION_free(extension);
}

X509Ptr make_certificate(EVP_PKEY* key, const char* common_name, X509* issuer, EVP_PKEY* issuer_key,
                         bool is_ca, long serial) {
  X509Ptr cert(X509_new());
  X509_set_version(cert.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), serial);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 3600);
  X509_set_pubkey(cert.get(), key);
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(common_name), -1, -1, 0);
  X509* signer = issuer == nullptr ? cert.get() : issuer;
  X509_set_issuer_name(cert.get(), X509_get_subject_name(signer));
  if (is_ca) {
    add_extension(cert.get(), signer, NID_basic_constraints, "critical,CA:TRUE");
    add_extension(cert.get(), signer, NID_key_usage, "critical,keyCertSign,cRLSign");
    add_extension(cert.get(), signer, NID_subject_key_identifier, "hash");
  } else {
    add_extension(cert.get(), signer, NID_basic_constraints, "critical,CA:FALSE");
    add_extension(cert.get(), signer, NID_key_usage, "critical,digitalSignature");
    add_extension(cert.get(), signer, NID_ext_key_usage, "serverAuth");
    add_extension(cert.get(), signer, NID_subject_alt_name, "IP:127.0.0.1");
    add_extension(cert.get(), signer, NID_authority_key_identifier, "keyid");
  }
  EXPECT_GT(X509_sign(cert.get(), issuer_key, EVP_sha256()), 0);
  return cert;
}

std::string write_pem(const std::string& file_name, X509* cert) {
  std::string path =
      ::testing::TempDir() + "hsmproof_http_" + std::to_string(::getpid()) + "_" + file_name;
  FILE* file = std::fopen(path.c_str(), "w");
  EXPECT_NE(file, nullptr);
  if (file != nullptr) {
    PEM_write_X509(file, cert);
    std::fclose(file);
  }
  return path;
}

class CurlTransportTls : public ::testing::Test {
 protected:
  void SetUp() override {
    ca_key_.reset(EVP_EC_gen("P-256"));
    other_ca_key_.reset(EVP_EC_gen("P-256"));
    server_key_.reset(EVP_EC_gen("P-256"));
    ASSERT_TRUE(ca_key_ && other_ca_key_ && server_key_);
    ca_ = make_certificate(ca_key_.get(), "hsmproof test CA", nullptr, ca_key_.get(), true, 1);
    other_ca_ = make_certificate(other_ca_key_.get(), "unrelated CA", nullptr, other_ca_key_.get(),
                                 true, 2);
    server_cert_ =
        make_certificate(server_key_.get(), "127.0.0.1", ca_.get(), ca_key_.get(), false, 3);
    ca_path_ = write_pem("ca.pem", ca_.get());
    other_ca_path_ = write_pem("other_ca.pem", other_ca_.get());
  }
  void TearDown() override {
    std::remove(ca_path_.c_str());
    std::remove(other_ca_path_.c_str());
  }

  PkeyPtr ca_key_, other_ca_key_, server_key_;
  X509Ptr ca_, other_ca_, server_cert_;
  std::string ca_path_, other_ca_path_;
};

TEST_F(CurlTransportTls, TrustsTheConfiguredCaBundleOnly) {
  auto server = std::make_unique<httplib::SSLServer>(server_cert_.get(), server_key_.get());
  ASSERT_TRUE(server->is_valid());
  LocalServer local(std::move(server));
  local.server().Get("/", [](const httplib::Request&, httplib::Response& response) {
    response.set_content("secure", "text/plain");
  });
  local.start();

  TransportOptions trusting = fast_options();
  trusting.ca_bundle_path = ca_path_;
  auto ok = make_curl_transport(trusting)->send(get(local.url("/", "https")));
  ASSERT_TRUE(ok.ok()) << ok.error().describe();
  EXPECT_EQ(ok->status, 200);
  EXPECT_EQ(ok->body, "secure");

  TransportOptions distrusting = fast_options();
  distrusting.ca_bundle_path = other_ca_path_;
  auto refused = make_curl_transport(distrusting)->send(get(local.url("/", "https")));
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().kind, ErrorKind::kTransport);
  EXPECT_NE(refused.error().message.find("TLS"), std::string::npos) << refused.error().message;

  TransportOptions missing_bundle = fast_options();
  missing_bundle.ca_bundle_path = ::testing::TempDir() + "no_such_bundle.pem";
  auto no_bundle = make_curl_transport(missing_bundle)->send(get(local.url("/", "https")));
  ASSERT_FALSE(no_bundle.ok());
  EXPECT_EQ(no_bundle.error().kind, ErrorKind::kTransport);
}

}  // namespace
}  // namespace hsmproof::http
