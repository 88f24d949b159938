#include "collect/aws/credentials.h"

#include <expat.h>
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <limits>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <type_traits>
#include <utility>
#include <vector>

#include "collect/aws/endpoints.h"

extern char** environ;  // NOLINT(readability-redundant-declaration): posix_spawn passes it on

namespace hsmproof::aws {

namespace {

constexpr auto kRefreshWindow = std::chrono::minutes(5);
constexpr std::size_t kMaxProcessOutput = 1U << 20U;
constexpr const char* kStsVersion = "2011-06-15";
constexpr const char* kImdsTokenTtlSeconds = "21600";
constexpr const char* kHowToConfigure =
    "To configure credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (plus "
    "AWS_SESSION_TOKEN for temporary keys); or run `aws configure` to create the default "
    "profile; or pass --profile NAME (or set AWS_PROFILE) for a profile in ~/.aws/config; or run "
    "on EC2, ECS or EKS with an IAM role attached.";

using Profile = std::map<std::string, std::string>;
using ProfileMap = std::map<std::string, Profile>;

Error credentials_error(std::string message) {
  Error error;
  error.kind = ErrorKind::kCredentials;
  error.message = std::move(message);
  return error;
}

std::string trim(const std::string& text) {
  const auto is_space = [](char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; };
  const auto begin = std::find_if_not(text.begin(), text.end(), is_space);
  const auto end = std::find_if_not(text.rbegin(), text.rend(), is_space).base();
  return begin < end ? std::string(begin, end) : std::string();
}

std::string to_lower(std::string text) {
  for (char& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return text;
}

std::optional<std::string> non_empty_variable(const Environment& env, const std::string& name) {
  std::optional<std::string> value = env.get(name);
  if (!value || value->empty()) return std::nullopt;
  return value;
}

bool variable_is_true(const Environment& env, const std::string& name) {
  const std::optional<std::string> value = env.get(name);
  return value && to_lower(trim(*value)) == "true";
}

std::string in_quotes(const std::string& text) { return "'" + text + "'"; }

std::string form_encode(const std::vector<std::pair<std::string, std::string>>& params) {
  std::string out;
  for (const auto& [key, value] : params) {
    if (!out.empty()) out += '&';
    out += uri_encode(key, true) + "=" + uri_encode(value, true);
  }
  return out;
}

std::string url_host(const std::string& url) {
  std::string host = host_header_for_url(url);
  if (!host.empty() && host.front() == '[') return host.substr(0, host.find(']') + 1);
  return host.substr(0, host.find(':'));
}

// ---------------------------------------------------------------------------------------------
// STS answers. A small expat reader keeps this file independent of the client's XML tree.

struct XmlLeaves {
  std::vector<std::pair<std::string, std::string>> entries;  // "A/B/C" -> text, in order

  // Text of the first element whose path ends with `suffix` ("Credentials/AccessKeyId").
  [[nodiscard]] std::string find(const std::string& suffix) const {
    for (const auto& [path, text] : entries) {
      if (path == suffix ||
          (path.size() > suffix.size() &&
           path.compare(path.size() - suffix.size(), suffix.size(), suffix) == 0 &&
           path[path.size() - suffix.size() - 1] == '/')) {
        return text;
      }
    }
    return {};
  }
};

struct XmlReadState {
  XML_Parser parser = nullptr;
  std::vector<std::string> path;
  std::string text;
  XmlLeaves leaves;
  bool refused_doctype = false;
};

std::string local_name(const XML_Char* name) {
  std::string qualified(name);
  const std::size_t colon = qualified.rfind(':');
  return colon == std::string::npos ? qualified : qualified.substr(colon + 1);
}

std::string joined_path(const std::vector<std::string>& path) {
  std::string out;
  for (const std::string& part : path) {
    if (!out.empty()) out += '/';
    out += part;
  }
  return out;
}

void XMLCALL on_xml_start(void* user, const XML_Char* name, const XML_Char** /*attributes*/) {
  auto* state = static_cast<XmlReadState*>(user);
  state->path.push_back(local_name(name));
  state->text.clear();
}

void XMLCALL on_xml_end(void* user, const XML_Char* /*name*/) {
  auto* state = static_cast<XmlReadState*>(user);
  state->leaves.entries.emplace_back(joined_path(state->path), trim(state->text));
  state->text.clear();
  if (!state->path.empty()) state->path.pop_back();
}

void XMLCALL on_xml_text(void* user, const XML_Char* data, int length) {
  static_cast<XmlReadState*>(user)->text.append(data, static_cast<std::size_t>(length));
}

// STS never sends a DTD; refusing one closes the door on entity tricks.
void XMLCALL on_xml_doctype(void* user, const XML_Char* /*name*/, const XML_Char* /*sysid*/,
                            const XML_Char* /*pubid*/, int /*has_internal_subset*/) {
  auto* state = static_cast<XmlReadState*>(user);
  state->refused_doctype = true;
  XML_StopParser(state->parser, XML_FALSE);
}

std::optional<XmlLeaves> read_xml_leaves(const std::string& body) {
  if (body.size() > static_cast<std::size_t>(std::numeric_limits<int>::max())) return std::nullopt;
  XmlReadState state;
  std::unique_ptr<std::remove_pointer_t<XML_Parser>, decltype(&XML_ParserFree)> parser(
      XML_ParserCreate(nullptr), &XML_ParserFree);
  if (!parser) return std::nullopt;
  state.parser = parser.get();
  XML_SetUserData(parser.get(), &state);
  XML_SetElementHandler(parser.get(), on_xml_start, on_xml_end);
  XML_SetCharacterDataHandler(parser.get(), on_xml_text);
  XML_SetStartDoctypeDeclHandler(parser.get(), on_xml_doctype);
  const XML_Status status =
      XML_Parse(parser.get(), body.data(), static_cast<int>(body.size()), XML_TRUE);
  if (status != XML_STATUS_OK || state.refused_doctype) return std::nullopt;
  return std::move(state.leaves);
}

// ---------------------------------------------------------------------------------------------
// Caching: every provider fetches through this, so refresh and locking live in one place.

class CachingProvider : public CredentialProvider {
 public:
  explicit CachingProvider(const Clock& clock) : clock_(clock) {}

  Result<Credentials> get() final {
    std::lock_guard<std::mutex> lock(mutex_);
    const TimePoint now = clock_.now();
    const bool fresh = cached_ && (!cached_->expiration || now + kRefreshWindow < *cached_->expiration);
    // Credentials inside the refresh window get one refresh attempt, not one per API call; they
    // stay in use until they actually expire.
    const bool refresh_already_tried =
        cached_ && refreshed_at_ && cached_->expiration && now < *cached_->expiration &&
        *refreshed_at_ + kRefreshWindow >= *cached_->expiration;
    if (fresh || refresh_already_tried) return *cached_;
    Result<Credentials> fetched = fetch();
    refreshed_at_ = now;
    if (!fetched.ok()) {
      // A failed refresh must not discard credentials that are still valid for a few minutes.
      if (cached_ && cached_->expiration && now < *cached_->expiration) return *cached_;
      return fetched.error();
    }
    Credentials credentials = std::move(fetched).value();
    if (credentials.expiration && *credentials.expiration <= now) {
      // As the AWS SDKs do: credentials that are expired when handed over are refused, not used.
      return credentials_error(describe() + " returned credentials that expired at " +
                               format_iso8601(*credentials.expiration) +
                               "; refresh them at their source and run again");
    }
    cached_ = std::move(credentials);
    cached_->source = describe();
    return *cached_;
  }

 protected:
  virtual Result<Credentials> fetch() = 0;
  [[nodiscard]] const Clock& clock() const { return clock_; }

 private:
  const Clock& clock_;
  std::mutex mutex_;
  std::optional<Credentials> cached_;
  std::optional<TimePoint> refreshed_at_;
};

class StaticProvider final : public CachingProvider {
 public:
  StaticProvider(const Clock& clock, Credentials credentials, std::string description)
      : CachingProvider(clock),
        credentials_(std::move(credentials)),
        description_(std::move(description)) {}
  [[nodiscard]] std::string describe() const override { return description_; }

 protected:
  Result<Credentials> fetch() override { return credentials_; }

 private:
  Credentials credentials_;
  std::string description_;
};

// Shared by AssumeRole and AssumeRoleWithWebIdentity: send, then read the XML answer.
Result<Credentials> call_sts(http::Transport& transport, const http::Request& request,
                             const std::string& region, const std::string& context) {
  const auto fail = [&](std::string message) {
    Error error = credentials_error(context + ": " + std::move(message));
    error.operation = request.operation;
    error.region = region;
    return error;
  };
  Result<http::Response> sent = transport.send(request);
  if (!sent.ok()) return fail(sent.error().message);
  const http::Response& response = sent.value();
  const std::optional<XmlLeaves> leaves = read_xml_leaves(response.body);
  if (response.status != 200) {
    std::string code = leaves ? leaves->find("Error/Code") : std::string();
    std::string message = leaves ? leaves->find("Error/Message") : std::string();
    Error error = fail(code.empty() ? "STS answered HTTP " + std::to_string(response.status)
                                    : code + (message.empty() ? "" : ": " + message));
    error.http_status = response.status;
    error.provider_code = code;
    if (leaves) error.request_id = leaves->find("RequestId");
    return error;
  }
  if (!leaves) return fail("STS answered with a body that is not XML");
  Credentials credentials;
  credentials.access_key_id = leaves->find("Credentials/AccessKeyId");
  credentials.secret_access_key = leaves->find("Credentials/SecretAccessKey");
  credentials.session_token = leaves->find("Credentials/SessionToken");
  const std::string expiration = leaves->find("Credentials/Expiration");
  if (credentials.access_key_id.empty() || credentials.secret_access_key.empty() ||
      credentials.session_token.empty() || expiration.empty()) {
    return fail("STS answer lacks AccessKeyId, SecretAccessKey, SessionToken or Expiration");
  }
  TimePoint expires{};
  if (!parse_iso8601(expiration, expires)) {
    return fail("STS answered an Expiration that is not an ISO-8601 time: " + expiration);
  }
  credentials.expiration = expires;
  return credentials;
}

http::Request sts_request(const std::string& endpoint, const std::string& operation,
                          const std::vector<std::pair<std::string, std::string>>& params) {
  http::Request request;
  request.method = "POST";
  request.url = endpoint + "/";
  request.operation = "sts:" + operation;
  request.headers.add("Content-Type", "application/x-www-form-urlencoded; charset=utf-8");
  std::vector<std::pair<std::string, std::string>> all = {{"Action", operation},
                                                          {"Version", kStsVersion}};
  all.insert(all.end(), params.begin(), params.end());
  request.body = form_encode(all);
  return request;
}

std::string default_session_name(const Clock& clock) {
  const auto seconds =
      std::chrono::duration_cast<std::chrono::seconds>(clock.now().time_since_epoch()).count();
  return "hsmproof-" + std::to_string(seconds);
}

struct RoleSettings {
  std::string role_arn;
  std::string session_name;  // empty: generated per call
  std::string external_id;
  std::optional<int> duration_seconds;
};

struct StsTarget {
  std::string endpoint;
  std::string region;
};

class AssumeRoleProvider final : public CachingProvider {
 public:
  AssumeRoleProvider(http::Transport& transport, const Clock& clock,
                     std::shared_ptr<CredentialProvider> source, RoleSettings role, StsTarget sts,
                     std::string description)
      : CachingProvider(clock),
        transport_(transport),
        source_(std::move(source)),
        role_(std::move(role)),
        sts_(std::move(sts)),
        description_(std::move(description)) {}
  [[nodiscard]] std::string describe() const override { return description_; }

 protected:
  Result<Credentials> fetch() override {
    Result<Credentials> source = source_->get();
    if (!source.ok()) {
      Error error = source.error();
      error.message = description_ + ": " + error.message;
      return error;
    }
    std::vector<std::pair<std::string, std::string>> params = {
        {"RoleArn", role_.role_arn},
        {"RoleSessionName",
         role_.session_name.empty() ? default_session_name(clock()) : role_.session_name}};
    if (role_.duration_seconds) {
      params.emplace_back("DurationSeconds", std::to_string(*role_.duration_seconds));
    }
    if (!role_.external_id.empty()) params.emplace_back("ExternalId", role_.external_id);
    http::Request request = sts_request(sts_.endpoint, "AssumeRole", params);
    SigningParams signing;
    signing.region = sts_.region;
    signing.service = service_info(Service::kSts).signing_name;
    signing.time = clock().now();
    sign_request(request, source.value(), signing);
    return call_sts(transport_, request, sts_.region, description_);
  }

 private:
  http::Transport& transport_;
  std::shared_ptr<CredentialProvider> source_;
  RoleSettings role_;
  StsTarget sts_;
  std::string description_;
};

class WebIdentityProvider final : public CachingProvider {
 public:
  WebIdentityProvider(const Environment& env, http::Transport& transport, const Clock& clock,
                      RoleSettings role, std::string token_file, StsTarget sts,
                      std::string description)
      : CachingProvider(clock),
        env_(env),
        transport_(transport),
        role_(std::move(role)),
        token_file_(std::move(token_file)),
        sts_(std::move(sts)),
        description_(std::move(description)) {}
  [[nodiscard]] std::string describe() const override { return description_; }

 protected:
  Result<Credentials> fetch() override {
    // Re-read on every refresh: the orchestrator rotates the token file.
    Result<std::string> token = env_.read_file(token_file_);
    if (!token.ok()) {
      return credentials_error(description_ + ": cannot read the web identity token file " +
                               token_file_ + " (" + token.error().message + ")");
    }
    const std::string trimmed = trim(token.value());
    if (trimmed.empty()) {
      return credentials_error(description_ + ": the web identity token file " + token_file_ +
                               " is empty");
    }
    std::vector<std::pair<std::string, std::string>> params = {
        {"RoleArn", role_.role_arn},
        {"RoleSessionName",
         role_.session_name.empty() ? default_session_name(clock()) : role_.session_name},
        {"WebIdentityToken", trimmed}};
    if (role_.duration_seconds) {
      params.emplace_back("DurationSeconds", std::to_string(*role_.duration_seconds));
    }
    // Unsigned: the token is the proof of identity.
    const http::Request request = sts_request(sts_.endpoint, "AssumeRoleWithWebIdentity", params);
    return call_sts(transport_, request, sts_.region, description_);
  }

 private:
  const Environment& env_;
  http::Transport& transport_;
  RoleSettings role_;
  std::string token_file_;
  StsTarget sts_;
  std::string description_;
};

// The JSON documents of credential_process, the container endpoint and IMDS share field names
// except for the token's.
Result<Credentials> credentials_from_json(const nlohmann::json& document,
                                          const std::string& token_field,
                                          const std::string& context) {
  const auto text_field = [&](const std::string& name) -> std::string {
    const auto it = document.find(name);
    if (it == document.end() || !it->is_string()) return {};
    return it->get<std::string>();
  };
  Credentials credentials;
  credentials.access_key_id = text_field("AccessKeyId");
  credentials.secret_access_key = text_field("SecretAccessKey");
  credentials.session_token = text_field(token_field);
  if (credentials.access_key_id.empty()) return credentials_error(context + ": no AccessKeyId");
  if (credentials.secret_access_key.empty()) {
    return credentials_error(context + ": no SecretAccessKey");
  }
  if (document.contains("Expiration")) {
    const std::string expiration = text_field("Expiration");
    TimePoint expires{};
    if (!parse_iso8601(expiration, expires)) {
      return credentials_error(context + ": Expiration is not an ISO-8601 time");
    }
    credentials.expiration = expires;
  }
  return credentials;
}

class ProcessProvider final : public CachingProvider {
 public:
  ProcessProvider(const Clock& clock, ProcessRunner runner, std::string profile,
                  std::string command)
      : CachingProvider(clock),
        runner_(std::move(runner)),
        profile_(std::move(profile)),
        command_(std::move(command)) {}
  [[nodiscard]] std::string describe() const override {
    return "profile " + in_quotes(profile_) + " via credential_process";
  }

 protected:
  Result<Credentials> fetch() override {
    const std::string context =
        "profile " + in_quotes(profile_) + ": credential_process `" + command_ + "`";
    Result<std::string> output = runner_(command_);
    if (!output.ok()) return credentials_error(context + " failed: " + output.error().message);
    // The output holds the secret: report where it is malformed, never what it says.
    const nlohmann::json document = nlohmann::json::parse(output.value(), nullptr, false);
    if (document.is_discarded() || !document.is_object()) {
      return credentials_error(context + " did not print a JSON object");
    }
    const auto version = document.find("Version");
    if (version == document.end() || !version->is_number_integer() || version->get<int>() != 1) {
      return credentials_error(context + " printed JSON without \"Version\": 1");
    }
    return credentials_from_json(document, "SessionToken", context + " output");
  }

 private:
  ProcessRunner runner_;
  std::string profile_;
  std::string command_;
};

http::Transport& metadata_transport(http::Transport& transport,
                                    const CredentialChainOptions& options) {
  return options.metadata_transport != nullptr ? *options.metadata_transport : transport;
}

class ContainerProvider final : public CachingProvider {
 public:
  ContainerProvider(const Environment& env, http::Transport& transport, const Clock& clock,
                    std::string url, std::string token_file, std::string token)
      : CachingProvider(clock),
        env_(env),
        transport_(transport),
        url_(std::move(url)),
        token_file_(std::move(token_file)),
        token_(std::move(token)) {}
  [[nodiscard]] std::string describe() const override {
    return "container credentials from " + url_;
  }

 protected:
  Result<Credentials> fetch() override {
    std::string token = token_;
    if (!token_file_.empty()) {
      // Re-read on every refresh: EKS Pod Identity rotates the token.
      Result<std::string> content = env_.read_file(token_file_);
      if (!content.ok()) {
        return credentials_error(describe() +
                                 ": cannot read AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE " +
                                 token_file_ + " (" + content.error().message + ")");
      }
      token = trim(content.value());
    }
    if (token.find_first_of("\r\n") != std::string::npos) {
      return credentials_error(describe() + ": the authorization token contains a line break");
    }
    http::Request request;
    request.method = "GET";
    request.url = url_;
    request.operation = "container-credentials";
    request.headers.add("Accept", "application/json");
    if (!token.empty()) request.headers.add("Authorization", token);
    Result<http::Response> sent = transport_.send(request);
    if (!sent.ok()) return credentials_error(describe() + ": " + sent.error().message);
    if (sent->status != 200) {
      Error error = credentials_error(describe() + ": endpoint answered HTTP " +
                                      std::to_string(sent->status));
      error.http_status = sent->status;
      error.operation = request.operation;
      return error;
    }
    const nlohmann::json document = nlohmann::json::parse(sent->body, nullptr, false);
    if (document.is_discarded() || !document.is_object()) {
      return credentials_error(describe() + ": endpoint did not answer a JSON object");
    }
    return credentials_from_json(document, "Token", describe());
  }

 private:
  const Environment& env_;
  http::Transport& transport_;
  std::string url_;
  std::string token_file_;
  std::string token_;
};

class ImdsProvider final : public CachingProvider {
 public:
  ImdsProvider(http::Transport& transport, const Clock& clock, std::string endpoint)
      : CachingProvider(clock), transport_(transport), endpoint_(std::move(endpoint)) {}
  [[nodiscard]] std::string describe() const override {
    return "EC2 instance metadata at " + endpoint_;
  }

 protected:
  Result<Credentials> fetch() override {
    // IMDSv2 only: the session token defeats SSRF relays that can only issue GETs.
    http::Request token_request;
    token_request.method = "PUT";
    token_request.url = endpoint_ + "/latest/api/token";
    token_request.operation = "imds:GetToken";
    token_request.headers.add("X-aws-ec2-metadata-token-ttl-seconds", kImdsTokenTtlSeconds);
    Result<std::string> token = body_of(token_request, "session token");
    if (!token.ok()) return token.error();

    const std::string base = endpoint_ + "/latest/meta-data/iam/security-credentials/";
    Result<std::string> roles = body_of(with_token(base, "imds:ListRoles", token.value()), "role");
    if (!roles.ok()) return roles.error();
    const std::string role = trim(roles->substr(0, roles->find('\n')));
    if (role.empty()) return credentials_error(describe() + ": no IAM role is attached");

    Result<std::string> body =
        body_of(with_token(base + role, "imds:GetRoleCredentials", token.value()), "credentials");
    if (!body.ok()) return body.error();
    const nlohmann::json document = nlohmann::json::parse(body.value(), nullptr, false);
    if (document.is_discarded() || !document.is_object()) {
      return credentials_error(describe() + ": role credentials are not a JSON object");
    }
    const auto code = document.find("Code");
    if (code != document.end() && code->is_string() && code->get<std::string>() != "Success") {
      return credentials_error(describe() + ": role " + in_quotes(role) + " credentials status " +
                               code->get<std::string>());
    }
    return credentials_from_json(document, "Token", describe() + ", role " + in_quotes(role));
  }

 private:
  static http::Request with_token(const std::string& url, const std::string& operation,
                                  const std::string& token) {
    http::Request request;
    request.method = "GET";
    request.url = url;
    request.operation = operation;
    request.headers.add("X-aws-ec2-metadata-token", token);
    return request;
  }

  Result<std::string> body_of(const http::Request& request, const std::string& what) {
    Result<http::Response> sent = transport_.send(request);
    if (!sent.ok()) {
      return credentials_error(describe() + ": no answer for the " + what + " (" +
                               sent.error().message + ")");
    }
    if (sent->status != 200) {
      Error error = credentials_error(
          describe() + ": HTTP " + std::to_string(sent->status) + " for the " + what +
          (sent->status == 404 && what == "role" ? " (no IAM role is attached to this instance)"
                                                 : ""));
      error.http_status = sent->status;
      error.operation = request.operation;
      return error;
    }
    return sent->body;
  }

  http::Transport& transport_;
  std::string endpoint_;
};

// ---------------------------------------------------------------------------------------------
// Shared config and credentials files.

struct SharedFiles {
  std::string config_path;
  std::string credentials_path;
  ProfileMap config;       // normalised: "profile x" -> "x"
  ProfileMap credentials;  // sections as written

  [[nodiscard]] bool has(const std::string& profile) const {
    return config.count(profile) > 0 || credentials.count(profile) > 0;
  }
  // The credentials file wins where both set a key.
  [[nodiscard]] Profile merged(const std::string& profile) const {
    Profile out;
    if (auto it = config.find(profile); it != config.end()) out = it->second;
    if (auto it = credentials.find(profile); it != credentials.end()) {
      for (const auto& [key, value] : it->second) out[key] = value;
    }
    return out;
  }
  [[nodiscard]] std::string where() const {
    return (config_path.empty() ? std::string("(no config file: HOME is not set)") : config_path) +
           " and " +
           (credentials_path.empty() ? std::string("(no credentials file: HOME is not set)")
                                     : credentials_path);
  }
};

std::string expand_home(const Environment& env, const std::string& path) {
  if (path == "~" || path.rfind("~/", 0) == 0) {
    const std::optional<std::string> home = non_empty_variable(env, "HOME");
    if (home) return *home + path.substr(1);
  }
  return path;
}

std::string shared_file_path(const Environment& env, const std::string& variable,
                             const std::string& default_name) {
  if (std::optional<std::string> path = non_empty_variable(env, variable)) {
    return expand_home(env, *path);
  }
  const std::optional<std::string> home = non_empty_variable(env, "HOME");
  return home ? *home + "/.aws/" + default_name : std::string();
}

Result<ProfileMap> read_profiles(const Environment& env, const std::string& path) {
  if (path.empty() || !env.file_exists(path)) return ProfileMap{};
  Result<std::string> text = env.read_file(path);
  if (!text.ok()) {
    return credentials_error("cannot read AWS shared file " + path + ": " + text.error().message);
  }
  return parse_aws_ini(text.value());
}

Result<SharedFiles> load_shared_files(const Environment& env) {
  SharedFiles files;
  files.config_path = shared_file_path(env, "AWS_CONFIG_FILE", "config");
  files.credentials_path = shared_file_path(env, "AWS_SHARED_CREDENTIALS_FILE", "credentials");
  Result<ProfileMap> config = read_profiles(env, files.config_path);
  if (!config.ok()) return config.error();
  for (const auto& [section, values] : config.value()) {
    if (section == "default") {
      files.config["default"] = values;
    } else if (section.rfind("profile ", 0) == 0) {
      // Merged, so "[profile default]" adds to "[default]" whichever comes first.
      Profile& target = files.config[trim(section.substr(8))];
      for (const auto& [key, value] : values) target[key] = value;
    }
    // Other sections ("sso-session x", "services x") are not profiles.
  }
  Result<ProfileMap> credentials = read_profiles(env, files.credentials_path);
  if (!credentials.ok()) return credentials.error();
  files.credentials = std::move(credentials).value();
  return files;
}

std::string setting(const Profile& profile, const std::string& key) {
  const auto it = profile.find(key);
  return it == profile.end() ? std::string() : it->second;
}

// ---------------------------------------------------------------------------------------------
// Chain resolution.

struct ChainContext {
  const Environment& env;
  http::Transport& transport;
  http::Transport& metadata;
  const Clock& clock;
  ProcessRunner runner;
  SharedFiles files;
  std::string sts_region;
};

// Resolved only when a role is assumed, so a bad AWS_ENDPOINT_URL_STS does not affect the rest.
Result<StsTarget> sts_target(const ChainContext& context) {
  Result<std::string> endpoint = resolve_endpoint(context.env, Service::kSts, context.sts_region);
  if (!endpoint.ok()) return endpoint.error();
  return StsTarget{endpoint.value(), context.sts_region};
}

using ProviderResult = Result<std::shared_ptr<CredentialProvider>>;

std::shared_ptr<CredentialProvider> no_provider() { return nullptr; }

ProviderResult environment_provider(const ChainContext& context, bool required) {
  const std::optional<std::string> key = non_empty_variable(context.env, "AWS_ACCESS_KEY_ID");
  const std::optional<std::string> secret =
      non_empty_variable(context.env, "AWS_SECRET_ACCESS_KEY");
  if (!key && !secret) {
    if (!required) return no_provider();
    return credentials_error(
        "credential_source Environment needs AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, which "
        "are not set");
  }
  if (!key || !secret) {
    return credentials_error(
        std::string(key ? "AWS_ACCESS_KEY_ID" : "AWS_SECRET_ACCESS_KEY") + " is set but " +
        (key ? "AWS_SECRET_ACCESS_KEY" : "AWS_ACCESS_KEY_ID") + " is not: set both, or neither");
  }
  Credentials credentials;
  credentials.access_key_id = *key;
  credentials.secret_access_key = *secret;
  credentials.session_token = non_empty_variable(context.env, "AWS_SESSION_TOKEN").value_or("");
  return std::shared_ptr<CredentialProvider>(std::make_shared<StaticProvider>(
      context.clock, std::move(credentials), "environment variables"));
}

ProviderResult container_provider(const ChainContext& context, bool required) {
  const std::optional<std::string> relative =
      non_empty_variable(context.env, "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
  const std::optional<std::string> full =
      non_empty_variable(context.env, "AWS_CONTAINER_CREDENTIALS_FULL_URI");
  if (!relative && !full) {
    if (!required) return no_provider();
    return credentials_error(
        "credential_source EcsContainer needs AWS_CONTAINER_CREDENTIALS_RELATIVE_URI or "
        "AWS_CONTAINER_CREDENTIALS_FULL_URI, which are not set");
  }
  std::string url;
  if (relative) {
    url = "http://169.254.170.2" + (relative->front() == '/' ? *relative : "/" + *relative);
  } else {
    url = *full;
    const std::string scheme = to_lower(url.substr(0, url.find("://")));
    const std::string host = to_lower(url_host(url));
    // ECS and EKS Pod Identity serve credentials over http on these link-local addresses.
    const bool link_local =
        host == "169.254.170.2" || host == "169.254.170.23" || host == "[fd00:ec2::23]";
    if (url.find("://") == std::string::npos || (scheme != "https" && scheme != "http") ||
        host.empty() || (scheme == "http" && !link_local && !is_loopback_host(host))) {
      Error error = credentials_error(
          "AWS_CONTAINER_CREDENTIALS_FULL_URI must be https://, or http:// to a loopback address "
          "or "
          "the ECS/EKS link-local addresses 169.254.170.2, 169.254.170.23, [fd00:ec2::23] (got '" +
          url + "')");
      error.kind = ErrorKind::kUsage;
      return error;
    }
  }
  std::string token_file =
      non_empty_variable(context.env, "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE").value_or("");
  std::string token =
      non_empty_variable(context.env, "AWS_CONTAINER_AUTHORIZATION_TOKEN").value_or("");
  return std::shared_ptr<CredentialProvider>(
      std::make_shared<ContainerProvider>(context.env, context.metadata, context.clock,
                                          std::move(url), std::move(token_file), std::move(token)));
}

std::string imds_endpoint(const Environment& env) {
  std::string endpoint = "http://169.254.169.254";
  if (std::optional<std::string> configured =
          non_empty_variable(env, "AWS_EC2_METADATA_SERVICE_ENDPOINT")) {
    endpoint = *configured;
  } else if (to_lower(env.get("AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE").value_or("")) == "ipv6") {
    endpoint = "http://[fd00:ec2::254]";
  }
  while (!endpoint.empty() && endpoint.back() == '/') endpoint.pop_back();
  return endpoint;
}

ProviderResult imds_provider(const ChainContext& context) {
  if (variable_is_true(context.env, "AWS_EC2_METADATA_DISABLED")) {
    return credentials_error("EC2 instance metadata is disabled by AWS_EC2_METADATA_DISABLED=true");
  }
  const std::string endpoint = imds_endpoint(context.env);
  const std::string scheme = to_lower(endpoint.substr(0, endpoint.find("://")));
  if (endpoint.find("://") == std::string::npos || (scheme != "http" && scheme != "https")) {
    Error error = credentials_error(
        "AWS_EC2_METADATA_SERVICE_ENDPOINT must be an http:// URL (got '" + endpoint + "')");
    error.kind = ErrorKind::kUsage;
    return error;
  }
  return std::shared_ptr<CredentialProvider>(
      std::make_shared<ImdsProvider>(context.metadata, context.clock, endpoint));
}

Result<std::optional<int>> duration_setting(const Profile& profile, const std::string& name) {
  const std::string text = setting(profile, "duration_seconds");
  if (text.empty()) return std::optional<int>();
  const bool digits = text.size() <= 6 && std::all_of(text.begin(), text.end(),
                                                      [](char c) { return c >= '0' && c <= '9'; });
  const int value = digits ? std::stoi(text) : 0;
  if (!digits || value < 900 || value > 43200) {
    return credentials_error("profile " + in_quotes(name) +
                             ": duration_seconds must be a number of seconds from 900 to 43200 "
                             "(got '" +
                             text + "')");
  }
  return std::optional<int>(value);
}

bool has_static_keys(const Profile& profile) {
  return !setting(profile, "aws_access_key_id").empty() ||
         !setting(profile, "aws_secret_access_key").empty();
}

ProviderResult static_profile_provider(const ChainContext& context, const std::string& name,
                                       const Profile& profile) {
  const std::string key = setting(profile, "aws_access_key_id");
  const std::string secret = setting(profile, "aws_secret_access_key");
  if (key.empty() || secret.empty()) {
    return credentials_error(
        "profile " + in_quotes(name) + " in " + context.files.where() + " sets " +
        (key.empty() ? "aws_secret_access_key" : "aws_access_key_id") + " without " +
        (key.empty() ? "aws_access_key_id" : "aws_secret_access_key") + ": set both");
  }
  Credentials credentials;
  credentials.access_key_id = key;
  credentials.secret_access_key = secret;
  credentials.session_token = setting(profile, "aws_session_token");
  return std::shared_ptr<CredentialProvider>(std::make_shared<StaticProvider>(
      context.clock, std::move(credentials), "profile " + in_quotes(name) + " (static keys)"));
}

ProviderResult role_profile_provider(const ChainContext& context, const std::string& name,
                                     std::vector<std::string> visited);

// A source profile's own static keys win over its role_arn, which lets a profile name itself as
// source_profile (the AWS CLI's convention); otherwise a role chain continues.
ProviderResult source_profile_provider(const ChainContext& context, const std::string& name,
                                       const std::vector<std::string>& visited) {
  if (!context.files.has(name)) {
    return credentials_error("profile " + in_quotes(visited.back()) + " names source_profile " +
                             in_quotes(name) + ", which is not in " + context.files.where());
  }
  const Profile profile = context.files.merged(name);
  if (has_static_keys(profile)) return static_profile_provider(context, name, profile);
  if (!setting(profile, "role_arn").empty()) return role_profile_provider(context, name, visited);
  if (const std::string command = setting(profile, "credential_process"); !command.empty()) {
    return std::shared_ptr<CredentialProvider>(
        std::make_shared<ProcessProvider>(context.clock, context.runner, name, command));
  }
  return credentials_error("source_profile " + in_quotes(name) + " (used by profile " +
                           in_quotes(visited.back()) +
                           ") has no credentials: give it aws_access_key_id and "
                           "aws_secret_access_key, credential_process, or role_arn");
}

ProviderResult role_profile_provider(const ChainContext& context, const std::string& name,
                                     std::vector<std::string> visited) {
  if (std::find(visited.begin(), visited.end(), name) != visited.end()) {
    std::string chain;
    for (const std::string& step : visited) chain += in_quotes(step) + " -> ";
    return credentials_error("source_profile loop: " + chain + in_quotes(name) + " in " +
                             context.files.where());
  }
  visited.push_back(name);
  const Profile profile = context.files.merged(name);
  const std::string prefix = "profile " + in_quotes(name);
  RoleSettings role;
  role.role_arn = setting(profile, "role_arn");
  role.session_name = setting(profile, "role_session_name");
  role.external_id = setting(profile, "external_id");
  Result<std::optional<int>> duration = duration_setting(profile, name);
  if (!duration.ok()) return duration.error();
  role.duration_seconds = duration.value();
  if (!setting(profile, "mfa_serial").empty()) {
    return credentials_error(prefix +
                             " needs an MFA code (mfa_serial), which hsmproof cannot prompt for: "
                             "use credential_process with a tool that can, or temporary keys");
  }
  const std::string token_file = setting(profile, "web_identity_token_file");
  const std::string source_profile = setting(profile, "source_profile");
  const std::string credential_source = setting(profile, "credential_source");
  const std::string description = prefix + " assuming role " + role.role_arn;
  Result<StsTarget> sts = sts_target(context);
  if (!sts.ok()) return sts.error();
  if (!token_file.empty()) {
    return std::shared_ptr<CredentialProvider>(std::make_shared<WebIdentityProvider>(
        context.env, context.transport, context.clock, std::move(role),
        expand_home(context.env, token_file), sts.value(), description + " with a web identity"));
  }
  if (!source_profile.empty() && !credential_source.empty()) {
    return credentials_error(prefix + " sets both source_profile and credential_source: keep one");
  }
  ProviderResult source = no_provider();
  if (!source_profile.empty()) {
    source = source_profile_provider(context, source_profile, visited);
  } else if (credential_source == "Environment") {
    source = environment_provider(context, true);
  } else if (credential_source == "Ec2InstanceMetadata") {
    source = imds_provider(context);
  } else if (credential_source == "EcsContainer") {
    source = container_provider(context, true);
  } else if (!credential_source.empty()) {
    return credentials_error(prefix + ": credential_source " + in_quotes(credential_source) +
                             " is not one of Environment, Ec2InstanceMetadata, EcsContainer");
  } else {
    return credentials_error(prefix +
                             " sets role_arn without source_profile, credential_source or "
                             "web_identity_token_file: add one to say which credentials assume "
                             "the role");
  }
  if (!source.ok()) return source.error();
  const std::string from = source.value()->describe();
  return std::shared_ptr<CredentialProvider>(std::make_shared<AssumeRoleProvider>(
      context.transport, context.clock, std::move(source).value(), std::move(role), sts.value(),
      description + " with credentials from " + from));
}

// nullptr: the profile exists but holds no credential settings (the chain goes on).
ProviderResult profile_provider(const ChainContext& context, const std::string& name) {
  const Profile profile = context.files.merged(name);
  if (!setting(profile, "role_arn").empty()) return role_profile_provider(context, name, {});
  if (has_static_keys(profile)) return static_profile_provider(context, name, profile);
  if (const std::string command = setting(profile, "credential_process"); !command.empty()) {
    return std::shared_ptr<CredentialProvider>(
        std::make_shared<ProcessProvider>(context.clock, context.runner, name, command));
  }
  if (!setting(profile, "sso_session").empty() || !setting(profile, "sso_start_url").empty()) {
    return credentials_error(
        "profile " + in_quotes(name) +
        " uses IAM Identity Center (SSO), which hsmproof does not read directly; add "
        "`credential_process = aws configure export-credentials --profile " +
        name + " --format process` to a profile and use that one");
  }
  return no_provider();
}

std::string region_from(const Environment& env, const CredentialChainOptions& options,
                        const Profile& profile) {
  if (!options.region.empty()) return options.region;
  if (auto region = non_empty_variable(env, "AWS_REGION")) return *region;
  if (auto region = non_empty_variable(env, "AWS_DEFAULT_REGION")) return *region;
  if (std::string region = setting(profile, "region"); !region.empty()) return region;
  return "us-east-1";
}

}  // namespace

// ---------------------------------------------------------------------------------------------

std::map<std::string, std::map<std::string, std::string>> parse_aws_ini(const std::string& text) {
  std::map<std::string, std::map<std::string, std::string>> sections;
  std::map<std::string, std::string>* current = nullptr;
  std::string* last_value = nullptr;
  std::size_t start = 0;
  while (start <= text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(start, end - start);
    start = end + 1;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    const std::string stripped = trim(line);
    if (stripped.empty() || stripped.front() == '#' || stripped.front() == ';') continue;
    // Indented lines continue the previous value (nested settings such as "s3 =").
    if (std::isspace(static_cast<unsigned char>(line.front())) != 0 && last_value != nullptr) {
      *last_value += "\n" + stripped;
      continue;
    }
    if (stripped.front() == '[') {
      const std::size_t close = stripped.find(']');
      if (close == std::string::npos) {
        current = nullptr;
        last_value = nullptr;
        continue;
      }
      current = &sections[trim(stripped.substr(1, close - 1))];
      last_value = nullptr;
      continue;
    }
    const std::size_t equals = stripped.find('=');
    if (current == nullptr || equals == std::string::npos) {
      last_value = nullptr;
      continue;
    }
    std::string& value = (*current)[to_lower(trim(stripped.substr(0, equals)))];
    value = trim(stripped.substr(equals + 1));
    last_value = &value;
  }
  return sections;
}

Result<std::string> run_process_capture_stdout(const std::string& command) {
  std::array<int, 2> pipe_fds{};
  if (::pipe2(pipe_fds.data(), O_CLOEXEC) != 0) {
    return credentials_error(std::string("cannot create a pipe: ") + std::strerror(errno));
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  // dup2 clears close-on-exec on the child's stdout; every other descriptor stays closed.
  posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], STDOUT_FILENO);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  std::string shell = "sh";
  std::string flag = "-c";
  std::string script = command;
  std::array<char*, 4> argv = {shell.data(), flag.data(), script.data(), nullptr};
  pid_t pid = 0;
  const int spawned = posix_spawn(&pid, "/bin/sh", &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  ::close(pipe_fds[1]);
  if (spawned != 0) {
    ::close(pipe_fds[0]);
    return credentials_error(std::string("cannot start /bin/sh: ") + std::strerror(spawned));
  }

  std::string output;
  bool too_large = false;
  std::array<char, 4096> buffer{};
  while (true) {
    const ssize_t count = ::read(pipe_fds[0], buffer.data(), buffer.size());
    if (count == 0) break;
    if (count < 0) {
      if (errno == EINTR) continue;
      break;
    }
    output.append(buffer.data(), static_cast<std::size_t>(count));
    if (output.size() > kMaxProcessOutput) {
      too_large = true;
      ::kill(pid, SIGKILL);
      break;
    }
  }
  ::close(pipe_fds[0]);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) {
      return credentials_error(std::string("cannot wait for the command: ") + std::strerror(errno));
    }
  }
  if (too_large) return credentials_error("the command printed more than 1 MiB");
  if (WIFSIGNALED(status)) {
    return credentials_error("the command was killed by signal " +
                             std::to_string(WTERMSIG(status)));
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    return credentials_error("the command exited with code " + std::to_string(WEXITSTATUS(status)));
  }
  return output;
}

Result<std::string> resolve_default_region(const Environment& env,
                                           const CredentialChainOptions& options) {
  Result<SharedFiles> files = load_shared_files(env);
  if (!files.ok()) return files.error();
  const std::string profile = !options.profile.empty()
                                  ? options.profile
                                  : non_empty_variable(env, "AWS_PROFILE").value_or("default");
  return region_from(env, options, files->merged(profile));
}

Result<std::shared_ptr<CredentialProvider>> resolve_credential_chain(
    const Environment& env, http::Transport& transport, const Clock& clock,
    const CredentialChainOptions& options, ProcessRunner runner) {
  Result<SharedFiles> files = load_shared_files(env);
  if (!files.ok()) return files.error();
  const std::optional<std::string> env_profile = non_empty_variable(env, "AWS_PROFILE");
  const std::string profile_name =
      !options.profile.empty() ? options.profile : env_profile.value_or("default");
  const bool profile_named = !options.profile.empty() || env_profile.has_value();

  ChainContext context{env,   transport,         metadata_transport(transport, options),
                       clock, std::move(runner), std::move(files).value(),
                       {}};
  context.sts_region = region_from(env, options, context.files.merged(profile_name));

  std::vector<std::string> tried;

  if (options.profile.empty()) {
    ProviderResult from_env = environment_provider(context, false);
    if (!from_env.ok() || from_env.value()) return from_env;
    tried.emplace_back("environment variables: AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY not set");
  }

  {
    const std::optional<std::string> token_file =
        non_empty_variable(env, "AWS_WEB_IDENTITY_TOKEN_FILE");
    const std::optional<std::string> role_arn = non_empty_variable(env, "AWS_ROLE_ARN");
    if (token_file && role_arn) {
      Result<StsTarget> sts = sts_target(context);
      if (!sts.ok()) return sts.error();
      RoleSettings role;
      role.role_arn = *role_arn;
      role.session_name = non_empty_variable(env, "AWS_ROLE_SESSION_NAME").value_or("");
      return std::shared_ptr<CredentialProvider>(std::make_shared<WebIdentityProvider>(
          env, transport, clock, std::move(role), expand_home(env, *token_file), sts.value(),
          "web identity (AWS_WEB_IDENTITY_TOKEN_FILE) for role " + *role_arn));
    }
    if (token_file || role_arn) {
      return credentials_error(
          std::string(token_file ? "AWS_WEB_IDENTITY_TOKEN_FILE" : "AWS_ROLE_ARN") +
          " is set but " + (token_file ? "AWS_ROLE_ARN" : "AWS_WEB_IDENTITY_TOKEN_FILE") +
          " is not: web identity needs both");
    }
    tried.emplace_back("web identity: AWS_WEB_IDENTITY_TOKEN_FILE / AWS_ROLE_ARN not set");
  }

  if (context.files.has(profile_name)) {
    ProviderResult from_profile = profile_provider(context, profile_name);
    if (!from_profile.ok() || from_profile.value()) return from_profile;
    tried.push_back("profile " + in_quotes(profile_name) + " in " + context.files.where() +
                    ": no aws_access_key_id, credential_process or role_arn");
  } else if (profile_named) {
    return credentials_error(
        "profile " + in_quotes(profile_name) + " (from " +
        (options.profile.empty() ? "AWS_PROFILE" : "--profile") + ") was not found in " +
        context.files.where() + ". Define it as [profile " + profile_name +
        "] in the config file or [" + profile_name +
        "] in the credentials file (`aws configure "
        "--profile " +
        profile_name + "`), or set AWS_CONFIG_FILE / AWS_SHARED_CREDENTIALS_FILE");
  } else {
    tried.push_back("shared files: no [default] profile in " + context.files.where());
  }

  ProviderResult from_container = container_provider(context, false);
  if (!from_container.ok() || from_container.value()) return from_container;
  tried.emplace_back(
      "container: AWS_CONTAINER_CREDENTIALS_RELATIVE_URI / AWS_CONTAINER_CREDENTIALS_FULL_URI not "
      "set");

  ProviderResult from_imds = imds_provider(context);
  if (from_imds.ok()) {
    Result<Credentials> probe = from_imds.value()->get();
    if (probe.ok()) return from_imds;
    tried.push_back(probe.error().message);
  } else if (from_imds.error().kind == ErrorKind::kUsage) {
    return from_imds;
  } else {
    tried.push_back(from_imds.error().message);
  }

  std::string message = "no AWS credentials found. Tried, in order:";
  for (std::size_t i = 0; i < tried.size(); ++i) {
    message += " " + std::to_string(i + 1) + ") " + tried[i] + ";";
  }
  message.back() = '.';
  message += " ";
  message += kHowToConfigure;
  return credentials_error(message);
}

}  // namespace hsmproof::aws
