// The sandbox server: cpp-httplib on loopback, over TLS with a local CA made at start, every
// request turned into a SandboxRequest and passed through faults, then the AWS handlers, then
// the Azure ones.

#include <fcntl.h>
#include <fmt/format.h>
#include <httplib.h>
#include <netinet/in.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "sandbox/faults.h"
#include "sandbox/sandbox.h"

namespace hsmproof::sandbox {

namespace {

struct PkeyFree {
  void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};
struct PkeyCtxFree {
  void operator()(EVP_PKEY_CTX* context) const { EVP_PKEY_CTX_free(context); }
};
struct X509Free {
  void operator()(X509* cert) const { X509_free(cert); }
};
struct BioFree {
  void operator()(BIO* bio) const { BIO_free(bio); }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;
using PkeyCtxPtr = std::unique_ptr<EVP_PKEY_CTX, PkeyCtxFree>;
using X509Ptr = std::unique_ptr<X509, X509Free>;
using BioPtr = std::unique_ptr<BIO, BioFree>;

Error sandbox_error(ErrorKind kind, const std::string& message) {
  Error error;
  error.kind = kind;
  error.message = message;
  return error;
}

std::string random_bytes(std::size_t count) {
  std::string bytes(count, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(bytes.data()), static_cast<int>(count)) != 1) {
    // RAND_bytes fails only without an entropy source; the sandbox cannot run sensibly then.
    throw std::runtime_error("OpenSSL RAND_bytes failed");
  }
  return bytes;
}

PkeyPtr generate_key(const std::string& algorithm, int bits_or_curve_nid) {
  if (algorithm.rfind("RSA", 0) == 0) {
    return PkeyPtr(EVP_RSA_gen(static_cast<unsigned int>(bits_or_curve_nid)));
  }
  if (algorithm.rfind("EC", 0) == 0) {
    PkeyCtxPtr context(EVP_PKEY_CTX_new_id(EVP_PKEY_EC, nullptr));
    if (!context || EVP_PKEY_keygen_init(context.get()) != 1 ||
        EVP_PKEY_CTX_set_ec_paramgen_curve_nid(context.get(), bits_or_curve_nid) != 1) {
      return nullptr;
    }
    EVP_PKEY* key = nullptr;
    if (EVP_PKEY_keygen(context.get(), &key) != 1) return nullptr;
    return PkeyPtr(key);
  }
  return nullptr;
}

std::string private_key_to_pem(EVP_PKEY* key) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio ||
      PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    return "";
  }
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(size));
}

std::string certificate_to_pem(X509* cert) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_X509(bio.get(), cert) != 1) return "";
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(size));
}

// ---- the local CA ----

bool add_extension(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX context;
  X509V3_set_ctx_nodb(&context);
  X509V3_set_ctx(&context, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* extension = X509V3_EXT_nconf_nid(nullptr, &context, nid, value.c_str());
  if (extension == nullptr) return false;
  const bool added = X509_add_ext(cert, extension, -1) == 1;
  X509_EXTENSION_free(extension);
  return added;
}

// Extensions as strict verifiers (Python 3.13's VERIFY_X509_STRICT, Go) want them: key
// identifiers both ways, critical basic constraints and key usage.
X509Ptr make_certificate(EVP_PKEY* key, const std::string& common_name, X509* issuer,
                         EVP_PKEY* issuer_key,
                         const std::vector<std::pair<int, std::string>>& extensions) {
  X509Ptr cert(X509_new());
  if (!cert) return nullptr;
  X509_set_version(cert.get(), 2);
  const std::string serial = random_bytes(8);
  std::uint64_t serial_number = 0;
  for (const char byte : serial)
    serial_number = (serial_number << 8) | static_cast<unsigned char>(byte);
  ASN1_INTEGER_set_uint64(X509_get_serialNumber(cert.get()), serial_number >> 1);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 30L * 24 * 3600);
  X509_set_pubkey(cert.get(), key);
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("hsmproof sandbox"), -1, -1, 0);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(common_name.c_str()), -1, -1,
                             0);
  X509* signer = issuer == nullptr ? cert.get() : issuer;
  X509_set_issuer_name(cert.get(), X509_get_subject_name(signer));
  for (const auto& [nid, value] : extensions) {
    if (!add_extension(cert.get(), signer, nid, value)) return nullptr;
  }
  if (X509_sign(cert.get(), issuer_key == nullptr ? key : issuer_key, EVP_sha256()) <= 0) {
    return nullptr;
  }
  return cert;
}

struct TlsMaterial {
  PkeyPtr ca_key;
  X509Ptr ca_cert;
  PkeyPtr server_key;
  X509Ptr server_cert;
};

Result<TlsMaterial> make_tls_material(const std::string& listen_host) {
  TlsMaterial material;
  material.ca_key = generate_key("EC", NID_X9_62_prime256v1);
  material.server_key = generate_key("EC", NID_X9_62_prime256v1);
  if (!material.ca_key || !material.server_key) {
    return sandbox_error(ErrorKind::kInternal, "could not generate the sandbox's TLS keys");
  }
  material.ca_cert =
      make_certificate(material.ca_key.get(), "hsmproof sandbox CA", nullptr, nullptr,
                       {{NID_basic_constraints, "critical,CA:TRUE,pathlen:0"},
                        {NID_key_usage, "critical,keyCertSign,cRLSign"},
                        {NID_subject_key_identifier, "hash"},
                        {NID_authority_key_identifier, "keyid:always"}});
  if (!material.ca_cert) {
    return sandbox_error(ErrorKind::kInternal, "could not make the sandbox's CA certificate");
  }
  std::string alt_names = "IP:127.0.0.1,IP:::1,DNS:localhost";
  if (listen_host != "127.0.0.1" && listen_host != "::1" && listen_host != "localhost" &&
      !listen_host.empty()) {
    const bool is_ip =
        listen_host.find_first_not_of("0123456789.:abcdefABCDEF") == std::string::npos;
    alt_names += (is_ip ? ",IP:" : ",DNS:") + listen_host;
  }
  material.server_cert = make_certificate(material.server_key.get(), "127.0.0.1",
                                          material.ca_cert.get(), material.ca_key.get(),
                                          {{NID_basic_constraints, "critical,CA:FALSE"},
                                           {NID_key_usage, "critical,digitalSignature"},
                                           {NID_ext_key_usage, "serverAuth"},
                                           {NID_subject_alt_name, alt_names},
                                           {NID_subject_key_identifier, "hash"},
                                           {NID_authority_key_identifier, "keyid:always"}});
  if (!material.server_cert) {
    return sandbox_error(ErrorKind::kInternal, "could not make the sandbox's server certificate");
  }
  return material;
}

// ---- request and response conversion ----

bool is_httplib_pseudo_header(const std::string& name) {
  // cpp-httplib stores the peer's addresses among the request headers; they never came from the
  // client.
  return name == "REMOTE_ADDR" || name == "REMOTE_PORT" || name == "LOCAL_ADDR" ||
         name == "LOCAL_PORT";
}

SandboxRequest to_sandbox_request(const httplib::Request& in) {
  SandboxRequest request;
  request.method = in.method;
  request.target = in.target;
  const std::size_t question = in.target.find('?');
  const std::string raw_path = in.target.substr(0, question);
  request.path = decode_url_component(raw_path, false);
  if (question != std::string::npos) {
    request.query = decode_form_pairs(std::string_view(in.target).substr(question + 1));
  }
  for (const auto& [name, value] : in.headers) {
    if (is_httplib_pseudo_header(name)) continue;
    request.headers.add(name, value);
  }
  request.body = in.body;
  request.host = in.get_header_value("Host");
  return request;
}

bool iequals(const std::string& a, const char* b) {
  const std::size_t size = std::strlen(b);
  if (a.size() != size) return false;
  for (std::size_t i = 0; i < size; ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

void write_response(SandboxResponse response, httplib::Response& out) {
  out.status = response.status;
  std::string content_type;
  for (const auto& [name, value] : response.headers.entries) {
    if (iequals(name, "Content-Type")) {
      content_type = value;
      continue;
    }
    // httplib frames the body itself.
    if (iequals(name, "Content-Length") || iequals(name, "Transfer-Encoding") ||
        iequals(name, "Connection")) {
      continue;
    }
    out.set_header(name, value);
  }
  if (response.body.empty()) {
    if (!content_type.empty()) out.set_header("Content-Type", content_type);
    return;
  }
  if (content_type.empty()) content_type = "application/octet-stream";
  // A content provider, even for whole bodies: httplib would otherwise gzip JSON for clients that
  // accept it, which no provider does, and it is the only way to send fewer bytes than the
  // Content-Length announced (a truncated transfer).
  auto body = std::make_shared<std::string>(std::move(response.body));
  const std::size_t size = body->size();
  const std::size_t limit = response.truncate_at ? std::min(*response.truncate_at, size) : size;
  out.set_content_provider(
      size, content_type,
      [body, limit](std::size_t offset, std::size_t length, httplib::DataSink& sink) {
        if (offset >= limit) return false;  // abandons the connection
        const std::size_t count = std::min(length, limit - offset);
        return sink.write(body->data() + offset, count);
      });
}

SandboxResponse not_found_response(const SandboxRequest& request, SandboxContext& context) {
  SandboxResponse response;
  response.status = 404;
  const std::string request_id = context.new_request_id();
  response.headers.set("Content-Type", "application/json; charset=utf-8");
  response.headers.set("x-ms-request-id", request_id);
  response.body = nlohmann::json{{"error",
                                  {{"code", "NotFound"},
                                   {"message", fmt::format("The sandbox serves nothing at {} {}.",
                                                           request.method, request.path)}}}}
                      .dump();
  return response;
}

bool same_peer(int fd, int local_port, int remote_port) {
  sockaddr_storage local{};
  sockaddr_storage peer{};
  socklen_t local_size = sizeof(local);
  socklen_t peer_size = sizeof(peer);
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&local), &local_size) != 0) return false;
  if (getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &peer_size) != 0) return false;
  const auto port_of = [](const sockaddr_storage& address) -> int {
    if (address.ss_family == AF_INET) {
      return ntohs(reinterpret_cast<const sockaddr_in&>(address).sin_port);
    }
    if (address.ss_family == AF_INET6) {
      return ntohs(reinterpret_cast<const sockaddr_in6&>(address).sin6_port);
    }
    return -1;
  };
  return port_of(local) == local_port && (remote_port < 0 || port_of(peer) == remote_port);
}

// Every connected socket of this process accepted on `port` (remote_port -1: any peer).
std::vector<int> connection_fds(int local_port, int remote_port) {
  std::vector<int> fds;
  std::error_code ignored;
  for (const auto& entry : std::filesystem::directory_iterator("/proc/self/fd", ignored)) {
    int fd = -1;
    try {
      fd = std::stoi(entry.path().filename().string());
    } catch (const std::exception&) {
      continue;
    }
    struct stat info {};
    if (fstat(fd, &info) != 0 || !S_ISSOCK(info.st_mode)) continue;
    if (same_peer(fd, local_port, remote_port)) fds.push_back(fd);
  }
  return fds;
}

}  // namespace

// ---- SandboxRequest ----

std::optional<std::string> SandboxRequest::query_param(const std::string& name) const {
  for (const auto& [key, value] : query) {
    if (key == name) return value;
  }
  return std::nullopt;
}

// ---- SandboxContext ----

struct SandboxContext::Impl {
  struct KeyEntry {
    std::once_flag once;
    std::string pem;
  };
  std::mutex keys_mutex;
  std::map<std::string, std::shared_ptr<KeyEntry>> keys;
  mutable std::mutex tokens_mutex;
  std::map<std::string, std::string> token_audiences;
};

SandboxContext::SandboxContext(Scenario scenario, std::string base_url)
    : scenario_(std::move(scenario)),
      base_url_(std::move(base_url)),
      impl_(std::make_unique<Impl>()) {}

SandboxContext::~SandboxContext() = default;

std::string SandboxContext::private_key_pem(const std::string& key_ref,
                                            const std::string& algorithm, int bits_or_curve_nid) {
  std::shared_ptr<Impl::KeyEntry> entry;
  {
    std::lock_guard lock(impl_->keys_mutex);
    auto& slot = impl_->keys[fmt::format("{}|{}|{}", key_ref, algorithm, bits_or_curve_nid)];
    if (!slot) slot = std::make_shared<Impl::KeyEntry>();
    entry = slot;
  }
  // Generation runs outside the map's lock: an RSA 4096 key takes a second or more, and other
  // keys must not wait for it.
  std::call_once(entry->once, [&] {
    const PkeyPtr key = generate_key(algorithm, bits_or_curve_nid);
    if (key) entry->pem = private_key_to_pem(key.get());
  });
  return entry->pem;
}

std::string SandboxContext::issue_token(const std::string& audience, const std::string& subject) {
  (void)subject;  // tokens are opaque; what they grant is their audience
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  const std::string bytes = random_bytes(40);
  std::string token = "sbx.";
  for (const char byte : bytes) token += kAlphabet[static_cast<unsigned char>(byte) % 64];
  std::lock_guard lock(impl_->tokens_mutex);
  impl_->token_audiences[token] = audience;
  return token;
}

std::optional<std::string> SandboxContext::token_audience(const std::string& token) const {
  std::lock_guard lock(impl_->tokens_mutex);
  const auto it = impl_->token_audiences.find(token);
  if (it == impl_->token_audiences.end()) return std::nullopt;
  return it->second;
}

std::string SandboxContext::new_request_id() {
  std::string bytes = random_bytes(16);
  bytes[6] = static_cast<char>((bytes[6] & 0x0f) | 0x40);
  bytes[8] = static_cast<char>((bytes[8] & 0x3f) | 0x80);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string id;
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) id += '-';
    const auto byte = static_cast<unsigned char>(bytes[i]);
    id += kHex[byte >> 4];
    id += kHex[byte & 0x0f];
  }
  return id;
}

// ---- Sandbox ----

struct Sandbox::Impl {
  SandboxOptions options;
  std::unique_ptr<SandboxContext> context;
  std::unique_ptr<FaultInjector> faults;
  std::unique_ptr<httplib::Server> server;
  std::thread thread;
  int port = 0;
  std::string base_url;
  std::string state_dir;
  bool owns_state_dir = false;
  std::string ca_path;
  std::atomic<std::uint64_t> served{0};
  std::atomic<bool> stopped{false};
  int null_fd = -1;

  ~Impl() {
    if (null_fd >= 0) ::close(null_fd);
  }

  // Closes the client's connection without an answer: the socket is swapped for /dev/null under
  // httplib's descriptor (atomically, so the number is never free for another open), and with
  // SO_LINGER 0 its last close sends a reset. httplib then writes its answer into /dev/null.
  void abort_connection(const httplib::Request& request) {
    int fd = -1;
    if (request.ssl != nullptr) {
      fd = SSL_get_fd(request.ssl);
    } else {
      const auto fds = connection_fds(request.local_port, request.remote_port);
      if (fds.size() == 1) fd = fds.front();
    }
    if (fd < 0 || null_fd < 0) return;
    const linger abort_on_close{1, 0};
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &abort_on_close, sizeof(abort_on_close));
    dup3(null_fd, fd, O_CLOEXEC);
  }

  void serve(const httplib::Request& in, httplib::Response& out) {
    served.fetch_add(1, std::memory_order_relaxed);
    const SandboxRequest request = to_sandbox_request(in);
    FaultOutcome outcome = faults->before_handling(request, *context);
    if (outcome.delay.count() > 0) std::this_thread::sleep_for(outcome.delay);
    SandboxResponse response;
    if (outcome.response) {
      response = std::move(*outcome.response);
    } else if (auto aws = handle_aws(request, *context)) {
      response = std::move(*aws);
    } else if (auto azure = handle_azure(request, *context)) {
      response = std::move(*azure);
    } else {
      response = not_found_response(request, *context);
    }
    if (response.reset_connection) {
      abort_connection(in);
      out.status = 500;
      return;
    }
    if (outcome.truncate && !response.truncate_at) response.truncate_at = response.body.size() / 2;
    write_response(std::move(response), out);
  }
};

Sandbox::Sandbox() : impl_(std::make_unique<Impl>()) {}

Sandbox::~Sandbox() {
  stop();
  if (impl_->owns_state_dir && !impl_->state_dir.empty()) {
    std::error_code ignored;
    std::filesystem::remove_all(impl_->state_dir, ignored);
  }
}

Result<std::unique_ptr<Sandbox>> Sandbox::start(Scenario scenario, const SandboxOptions& options) {
  std::unique_ptr<Sandbox> sandbox(new Sandbox());
  Impl& impl = *sandbox->impl_;
  impl.options = options;
  impl.null_fd = ::open("/dev/null", O_RDWR | O_CLOEXEC);

  impl.state_dir = options.state_dir;
  if (impl.state_dir.empty()) {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "hsmproof-sandbox-XXXXXX").string();
    if (mkdtemp(pattern.data()) == nullptr) {
      return sandbox_error(ErrorKind::kInternal,
                           fmt::format("cannot create a temporary directory for the sandbox's CA: "
                                       "{}",
                                       std::strerror(errno)));
    }
    impl.state_dir = pattern;
    impl.owns_state_dir = true;
  } else {
    std::error_code error;
    std::filesystem::create_directories(impl.state_dir, error);
    if (error) {
      return sandbox_error(ErrorKind::kUsage,
                           fmt::format("cannot create {}: {}", impl.state_dir, error.message()));
    }
  }

  if (options.plain_http) {
    impl.server = std::make_unique<httplib::Server>();
  } else {
    Result<TlsMaterial> tls = make_tls_material(options.listen_host);
    if (!tls.ok()) return tls.error();
    impl.ca_path = (std::filesystem::path(impl.state_dir) / "ca.pem").string();
    {
      std::ofstream file(impl.ca_path, std::ios::binary | std::ios::trunc);
      file << certificate_to_pem(tls.value().ca_cert.get());
      if (!file.good()) {
        return sandbox_error(ErrorKind::kUsage, "cannot write " + impl.ca_path);
      }
    }
    auto server = std::make_unique<httplib::SSLServer>(tls.value().server_cert.get(),
                                                       tls.value().server_key.get());
    if (!server->is_valid()) {
      return sandbox_error(ErrorKind::kInternal, "cannot set up TLS for the sandbox server");
    }
    impl.server = std::move(server);
  }

  httplib::Server& server = *impl.server;
  // One worker per open connection: clients keep connections alive, and a scan runs 16 or more
  // at once.
  server.new_task_queue = [] { return new httplib::ThreadPool(64); };
  server.set_keep_alive_max_count(100000);
  server.set_keep_alive_timeout(5);
  // httplib's default adds SO_REUSEPORT, with which a second sandbox could bind the same port
  // and take half of the first one's connections; a taken port must be an error.
  server.set_socket_options([](int sock) {
    const int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
  });
  const std::string& host = options.listen_host;
  if (host.find(':') != std::string::npos) server.set_address_family(AF_INET6);
  if (options.port == 0) {
    impl.port = server.bind_to_any_port(host);
    if (impl.port < 0) impl.port = 0;
  } else if (server.bind_to_port(host, options.port)) {
    impl.port = options.port;
  }
  if (impl.port <= 0) {
    return sandbox_error(ErrorKind::kUsage,
                         fmt::format("cannot listen on {}:{} (address in use, or not an address "
                                     "of this machine)",
                                     host, options.port));
  }
  const std::string url_host = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  impl.base_url =
      fmt::format("{}://{}:{}", options.plain_http ? "http" : "https", url_host, impl.port);

  std::vector<FaultSpec> faults = scenario.faults;
  std::vector<QuotaSpec> quotas = scenario.quotas;
  impl.faults = std::make_unique<FaultInjector>(scenario, std::move(faults), std::move(quotas));
  impl.context = std::make_unique<SandboxContext>(std::move(scenario), impl.base_url);

  const auto handler = [&impl](const httplib::Request& request, httplib::Response& response) {
    impl.serve(request, response);
  };
  const std::string any_path = "[\\s\\S]*";
  server.Get(any_path, handler);
  server.Post(any_path, handler);
  server.Put(any_path, handler);
  server.Patch(any_path, handler);
  server.Delete(any_path, handler);
  server.Options(any_path, handler);

  impl.thread = std::thread([&server] { server.listen_after_bind(); });
  // stop() is a no-op until the accept loop runs; wait for it so a quick stop cannot hang.
  while (!server.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  return sandbox;
}

std::string Sandbox::base_url() const { return impl_->base_url; }

std::string Sandbox::ca_bundle_path() const { return impl_->ca_path; }

std::vector<std::pair<std::string, std::string>> Sandbox::client_environment() const {
  std::vector<std::pair<std::string, std::string>> variables;
  const Scenario& scenario = impl_->context->scenario();
  if (!scenario.aws_accounts.empty()) {
    const AwsAccountSpec& account = scenario.aws_accounts.front();
    const auto& enabled = account.enabled_regions;
    const bool has_us_east_1 =
        std::find(enabled.begin(), enabled.end(), "us-east-1") != enabled.end();
    variables.emplace_back("AWS_ENDPOINT_URL", impl_->base_url);
    variables.emplace_back("AWS_ACCESS_KEY_ID", account.access_key_id);
    variables.emplace_back("AWS_SECRET_ACCESS_KEY", account.secret_access_key);
    variables.emplace_back("AWS_REGION", has_us_east_1 ? "us-east-1" : enabled.front());
    if (!impl_->ca_path.empty()) variables.emplace_back("AWS_CA_BUNDLE", impl_->ca_path);
  }
  if (scenario.azure) {
    variables.emplace_back("AZURE_TENANT_ID", scenario.azure->tenant_id);
    variables.emplace_back("AZURE_CLIENT_ID", scenario.azure->client_id);
    variables.emplace_back("AZURE_CLIENT_SECRET", scenario.azure->client_secret);
    variables.emplace_back("AZURE_AUTHORITY_HOST", impl_->base_url);
    variables.emplace_back("AZURE_RESOURCE_MANAGER_ENDPOINT", impl_->base_url);
  }
  if (!impl_->ca_path.empty()) variables.emplace_back("SSL_CERT_FILE", impl_->ca_path);
  return variables;
}

std::uint64_t Sandbox::requests_served() const {
  return impl_->served.load(std::memory_order_relaxed);
}

void Sandbox::stop() {
  if (!impl_->server || impl_->stopped.exchange(true)) return;
  impl_->server->stop();
  // Idle keep-alive connections would hold their workers for the keep-alive timeout; ending
  // them lets the pool join at once. shutdown() leaves the descriptors to httplib to close.
  for (const int fd : connection_fds(impl_->port, -1)) ::shutdown(fd, SHUT_RDWR);
  if (impl_->thread.joinable()) impl_->thread.join();
}

}  // namespace hsmproof::sandbox
