#include "collect/aws/credentials.h"

#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

namespace hsmproof::aws {
namespace {

constexpr const char* kHome = "/home/tester";
constexpr const char* kConfigPath = "/home/tester/.aws/config";
constexpr const char* kCredentialsPath = "/home/tester/.aws/credentials";
constexpr const char* kExampleSecret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";

// Every secret a test hands out; no error message may contain any of them.
const std::vector<std::string> kSecrets = {
    kExampleSecret,     "env-secret",      "env-token",     "base-secret",
    "role-secret",      "role-token",      "proc-secret",   "proc-token",
    "imds-secret",      "imds-token",      "ecs-secret",    "ecs-token",
    "auth-token-value", "web-token-value", "static-secret", "config-secret"};

void expect_no_secret(const std::string& text) {
  for (const std::string& secret : kSecrets) {
    EXPECT_EQ(text.find(secret), std::string::npos) << "secret '" << secret << "' in: " << text;
  }
}

Error make_error(ErrorKind kind, const std::string& message) {
  Error error;
  error.kind = kind;
  error.message = message;
  return error;
}

TimePoint at(const std::string& iso) {
  TimePoint t{};
  EXPECT_TRUE(parse_iso8601(iso, t)) << iso;
  return t;
}

class MutableClock final : public Clock {
 public:
  explicit MutableClock(TimePoint start) : now_(start) {}
  [[nodiscard]] TimePoint now() const override {
    std::lock_guard<std::mutex> lock(mutex_);
    return now_;
  }
  void advance(std::chrono::seconds by) {
    std::lock_guard<std::mutex> lock(mutex_);
    now_ += by;
  }

 private:
  mutable std::mutex mutex_;
  TimePoint now_;
};

// Answers "METHOD URL" from a table and records every request; anything else is refused as a
// closed port would be.
class FakeTransport final : public http::Transport {
 public:
  Result<http::Response> send(const http::Request& request) override {
    std::lock_guard<std::mutex> lock(mutex_);
    requests.push_back(request);
    const auto it = routes.find(request.method + " " + request.url);
    if (it == routes.end()) {
      Error error;
      error.kind = ErrorKind::kTransport;
      error.message = "connection refused: " + request.url;
      return error;
    }
    return it->second;
  }

  void route(const std::string& method, const std::string& url, int status,
             const std::string& body) {
    http::Response response;
    response.status = status;
    response.body = body;
    routes[method + " " + url] = response;
  }

  std::map<std::string, http::Response> routes;
  std::vector<http::Request> requests;

 private:
  std::mutex mutex_;
};

std::string percent_decode(const std::string& text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%' && i + 2 < text.size()) {
      out += static_cast<char>(std::stoi(text.substr(i + 1, 2), nullptr, 16));
      i += 2;
    } else {
      out += text[i];
    }
  }
  return out;
}

std::map<std::string, std::string> parse_form(const std::string& body) {
  std::map<std::string, std::string> fields;
  std::size_t start = 0;
  while (start <= body.size()) {
    std::size_t end = body.find('&', start);
    if (end == std::string::npos) end = body.size();
    const std::string pair = body.substr(start, end - start);
    const std::size_t equals = pair.find('=');
    fields[percent_decode(pair.substr(0, equals))] =
        equals == std::string::npos ? "" : percent_decode(pair.substr(equals + 1));
    start = end + 1;
  }
  return fields;
}

std::string sts_credentials_xml(const std::string& operation, const std::string& key,
                                const std::string& secret, const std::string& token,
                                const std::string& expiration) {
  return "<" + operation +
         "Response xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">\n"
         "  <" +
         operation +
         "Result>\n"
         "    <AssumedRoleUser><AssumedRoleId>AROA123:s1</AssumedRoleId>"
         "<Arn>arn:aws:sts::123456789012:assumed-role/audit/s1</Arn></AssumedRoleUser>\n"
         "    <Credentials>\n"
         "      <AccessKeyId>" +
         key +
         "</AccessKeyId>\n"
         "      <SecretAccessKey>" +
         secret +
         "</SecretAccessKey>\n"
         "      <SessionToken>" +
         token +
         "</SessionToken>\n"
         "      <Expiration>" +
         expiration +
         "</Expiration>\n"
         "    </Credentials>\n"
         "  </" +
         operation +
         "Result>\n"
         "  <ResponseMetadata><RequestId>req-123</RequestId></ResponseMetadata>\n"
         "</" +
         operation + "Response>\n";
}

class CredentialChainTest : public ::testing::Test {
 protected:
  CredentialChainTest() { env.variables["HOME"] = kHome; }

  Result<std::shared_ptr<CredentialProvider>> resolve(const CredentialChainOptions& options = {}) {
    return resolve_credential_chain(env, transport, clock, options,
                                    [this](const std::string& command) -> Result<std::string> {
                                      commands.push_back(command);
                                      return process_output;
                                    });
  }

  // Resolves and fetches, failing the test on any error.
  Credentials fetch(const CredentialChainOptions& options = {}) {
    auto provider = resolve(options);
    EXPECT_TRUE(provider.ok()) << (provider.ok() ? "" : provider.error().describe());
    if (!provider.ok()) return {};
    Result<Credentials> credentials = provider.value()->get();
    EXPECT_TRUE(credentials.ok()) << (credentials.ok() ? "" : credentials.error().describe());
    return credentials.ok() ? credentials.value() : Credentials{};
  }

  Error resolve_error(const CredentialChainOptions& options = {}) {
    auto provider = resolve(options);
    EXPECT_FALSE(provider.ok());
    if (provider.ok()) return {};
    expect_no_secret(provider.error().describe());
    return provider.error();
  }

  Error fetch_error(const CredentialChainOptions& options = {}) {
    auto provider = resolve(options);
    EXPECT_TRUE(provider.ok()) << (provider.ok() ? "" : provider.error().describe());
    if (!provider.ok()) return provider.error();
    Result<Credentials> credentials = provider.value()->get();
    EXPECT_FALSE(credentials.ok());
    if (credentials.ok()) return {};
    expect_no_secret(credentials.error().describe());
    return credentials.error();
  }

  void set_imds(const std::string& endpoint = "http://169.254.169.254") {
    transport.route("PUT", endpoint + "/latest/api/token", 200, "imds-session");
    transport.route("GET", endpoint + "/latest/meta-data/iam/security-credentials/", 200,
                    "ec2-role\n");
    transport.route("GET", endpoint + "/latest/meta-data/iam/security-credentials/ec2-role", 200,
                    R"({"Code":"Success","LastUpdated":"2015-08-30T12:00:00Z","Type":"AWS-HMAC",)"
                    R"("AccessKeyId":"ASIAIMDS","SecretAccessKey":"imds-secret",)"
                    R"("Token":"imds-token","Expiration":"2015-08-30T18:00:00Z"})");
  }

  void set_static_profile(const std::string& name, const std::string& key,
                          const std::string& secret) {
    env.files[kCredentialsPath] +=
        "[" + name + "]\naws_access_key_id = " + key + "\naws_secret_access_key = " + secret + "\n";
  }

  FakeEnvironment env;
  FakeTransport transport;
  MutableClock clock{at("2015-08-30T12:36:00Z")};
  std::vector<std::string> commands;
  Result<std::string> process_output = std::string();
};

// ---------------------------------------------------------------------------------------------
// (a) environment

TEST_F(CredentialChainTest, EnvironmentVariables) {
  env.variables["AWS_ACCESS_KEY_ID"] = "AKIDENV";
  env.variables["AWS_SECRET_ACCESS_KEY"] = "env-secret";
  env.variables["AWS_SESSION_TOKEN"] = "env-token";
  const Credentials credentials = fetch();
  EXPECT_EQ(credentials.access_key_id, "AKIDENV");
  EXPECT_EQ(credentials.secret_access_key, "env-secret");
  EXPECT_EQ(credentials.session_token, "env-token");
  EXPECT_FALSE(credentials.expiration.has_value());
  EXPECT_EQ(credentials.source, "environment variables");
  EXPECT_TRUE(transport.requests.empty());
}

TEST_F(CredentialChainTest, HalfSetEnvironmentIsAnError) {
  env.variables["AWS_ACCESS_KEY_ID"] = "AKIDENV";
  const Error error = resolve_error();
  EXPECT_EQ(error.kind, ErrorKind::kCredentials);
  EXPECT_NE(error.message.find("AWS_SECRET_ACCESS_KEY"), std::string::npos);
}

// ---------------------------------------------------------------------------------------------
// Order of the chain

TEST_F(CredentialChainTest, EnvironmentBeatsWebIdentityProfileContainerAndImds) {
  env.variables["AWS_ACCESS_KEY_ID"] = "AKIDENV";
  env.variables["AWS_SECRET_ACCESS_KEY"] = "env-secret";
  env.variables["AWS_WEB_IDENTITY_TOKEN_FILE"] = "/var/token";
  env.variables["AWS_ROLE_ARN"] = "arn:aws:iam::123456789012:role/web";
  env.variables["AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"] = "/v2/credentials/abc";
  set_static_profile("default", "AKIDPROFILE", "static-secret");
  set_imds();
  EXPECT_EQ(fetch().access_key_id, "AKIDENV");
  EXPECT_TRUE(transport.requests.empty());
}

TEST_F(CredentialChainTest, WebIdentityBeatsProfile) {
  env.variables["AWS_WEB_IDENTITY_TOKEN_FILE"] = "/var/token";
  env.variables["AWS_ROLE_ARN"] = "arn:aws:iam::123456789012:role/web";
  env.files["/var/token"] = "web-token-value\n";
  set_static_profile("default", "AKIDPROFILE", "static-secret");
  transport.route("POST", "https://sts.us-east-1.amazonaws.com/", 200,
                  sts_credentials_xml("AssumeRoleWithWebIdentity", "ASIAWEB", "role-secret",
                                      "role-token", "2015-08-30T13:36:00Z"));
  EXPECT_EQ(fetch().access_key_id, "ASIAWEB");
}

TEST_F(CredentialChainTest, ProfileBeatsContainerAndImds) {
  set_static_profile("default", "AKIDPROFILE", "static-secret");
  env.variables["AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"] = "/v2/credentials/abc";
  set_imds();
  const Credentials credentials = fetch();
  EXPECT_EQ(credentials.access_key_id, "AKIDPROFILE");
  EXPECT_EQ(credentials.source, "profile 'default' (static keys)");
  EXPECT_TRUE(transport.requests.empty());
}

TEST_F(CredentialChainTest, ContainerBeatsImds) {
  env.variables["AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"] = "/v2/credentials/abc";
  transport.route("GET", "http://169.254.170.2/v2/credentials/abc", 200,
                  R"({"AccessKeyId":"ASIAECS","SecretAccessKey":"ecs-secret",)"
                  R"("Token":"ecs-token","Expiration":"2015-08-30T18:00:00Z"})");
  set_imds();
  EXPECT_EQ(fetch().access_key_id, "ASIAECS");
  ASSERT_EQ(transport.requests.size(), 1U);
}

TEST_F(CredentialChainTest, ExplicitProfileOptionSkipsEnvironmentKeys) {
  env.variables["AWS_ACCESS_KEY_ID"] = "AKIDENV";
  env.variables["AWS_SECRET_ACCESS_KEY"] = "env-secret";
  set_static_profile("prod", "AKIDPROD", "static-secret");
  CredentialChainOptions options;
  options.profile = "prod";
  EXPECT_EQ(fetch(options).access_key_id, "AKIDPROD");
}

TEST_F(CredentialChainTest, AwsProfileVariableDoesNotOverrideEnvironmentKeys) {
  env.variables["AWS_ACCESS_KEY_ID"] = "AKIDENV";
  env.variables["AWS_SECRET_ACCESS_KEY"] = "env-secret";
  env.variables["AWS_PROFILE"] = "prod";
  set_static_profile("prod", "AKIDPROD", "static-secret");
  EXPECT_EQ(fetch().access_key_id, "AKIDENV");
}

// ---------------------------------------------------------------------------------------------
// (c) shared files

TEST_F(CredentialChainTest, ProfileFromAwsProfileAndConfigSections) {
  env.variables["AWS_PROFILE"] = "prod";
  env.files[kConfigPath] =
      "[default]\naws_access_key_id = AKIDDEFAULT\naws_secret_access_key = config-secret\n"
      "[prod]\naws_access_key_id = AKIDWRONGSECTION\naws_secret_access_key = config-secret\n"
      "[profile prod]\nAWS_ACCESS_KEY_ID = AKIDPROD\naws_secret_access_key = config-secret\n"
      "aws_session_token = static-token\n";
  const Credentials credentials = fetch();
  EXPECT_EQ(credentials.access_key_id, "AKIDPROD");
  EXPECT_EQ(credentials.session_token, "static-token");
}

TEST_F(CredentialChainTest, CredentialsFileWinsForStaticKeys) {
  env.files[kConfigPath] =
      "[default]\naws_access_key_id = AKIDCONFIG\naws_secret_access_key = config-secret\n";
  set_static_profile("default", "AKIDCREDS", "static-secret");
  const Credentials credentials = fetch();
  EXPECT_EQ(credentials.access_key_id, "AKIDCREDS");
  EXPECT_EQ(credentials.secret_access_key, "static-secret");
}

TEST_F(CredentialChainTest, FileLocationsFromEnvironment) {
  env.variables["AWS_CONFIG_FILE"] = "~/elsewhere/config";
  env.variables["AWS_SHARED_CREDENTIALS_FILE"] = "/etc/aws/creds";
  env.files["/home/tester/elsewhere/config"] = "[profile ops]\nregion = eu-west-2\n";
  env.files["/etc/aws/creds"] =
      "[ops]\naws_access_key_id = AKIDOPS\naws_secret_access_key = static-secret\n";
  // Files at the default locations must be ignored.
  set_static_profile("ops", "AKIDIGNORED", "static-secret");
  CredentialChainOptions options;
  options.profile = "ops";
  EXPECT_EQ(fetch(options).access_key_id, "AKIDOPS");
  Result<std::string> region = resolve_default_region(env, options);
  ASSERT_TRUE(region.ok());
  EXPECT_EQ(region.value(), "eu-west-2");
}

TEST_F(CredentialChainTest, MissingNamedProfileIsAnErrorNamingProfileAndFiles) {
  set_static_profile("default", "AKIDDEFAULT", "static-secret");
  CredentialChainOptions options;
  options.profile = "nosuch";
  const Error error = resolve_error(options);
  EXPECT_EQ(error.kind, ErrorKind::kCredentials);
  EXPECT_NE(error.message.find("'nosuch'"), std::string::npos);
  EXPECT_NE(error.message.find(kConfigPath), std::string::npos);
  EXPECT_NE(error.message.find(kCredentialsPath), std::string::npos);
  EXPECT_NE(error.message.find("--profile"), std::string::npos);

  env.variables["AWS_PROFILE"] = "alsomissing";
  const Error from_variable = resolve_error();
  EXPECT_NE(from_variable.message.find("'alsomissing'"), std::string::npos);
  EXPECT_NE(from_variable.message.find("AWS_PROFILE"), std::string::npos);
}

TEST_F(CredentialChainTest, HalfSetProfileKeysAreAnError) {
  env.files[kCredentialsPath] = "[default]\naws_access_key_id = AKIDONLY\n";
  const Error error = resolve_error();
  EXPECT_NE(error.message.find("aws_secret_access_key"), std::string::npos);
}

TEST_F(CredentialChainTest, UnreadableSharedFileIsAnError) {
  struct UnreadableEnvironment final : Environment {
    [[nodiscard]] std::optional<std::string> get(const std::string& name) const override {
      if (name == "HOME") return std::string(kHome);
      return std::nullopt;
    }
    [[nodiscard]] Result<std::string> read_file(const std::string& path,
                                                std::size_t /*max_bytes*/) const override {
      return make_error(ErrorKind::kUsage, "cannot read " + path + ": permission denied");
    }
    [[nodiscard]] bool file_exists(const std::string& path) const override {
      return path == kConfigPath;
    }
  } unreadable;
  auto provider = resolve_credential_chain(unreadable, transport, clock, {});
  ASSERT_FALSE(provider.ok());
  EXPECT_EQ(provider.error().kind, ErrorKind::kCredentials);
  EXPECT_NE(provider.error().message.find(kConfigPath), std::string::npos);
}

TEST_F(CredentialChainTest, SsoProfileExplainsTheWorkaround) {
  env.variables["AWS_PROFILE"] = "sso";
  env.files[kConfigPath] = "[profile sso]\nsso_session = corp\nsso_account_id = 123456789012\n";
  const Error error = resolve_error();
  EXPECT_NE(error.message.find("aws configure export-credentials --profile sso"),
            std::string::npos);
}

// ---------------------------------------------------------------------------------------------
// Assume role

class AssumeRoleTest : public CredentialChainTest {
 protected:
  AssumeRoleTest() {
    env.files[kConfigPath] =
        "[profile audit]\n"
        "role_arn = arn:aws:iam::123456789012:role/audit\n"
        "source_profile = base\n"
        "external_id = ext-4242\n"
        "role_session_name = s1\n"
        "duration_seconds = 1800\n"
        "region = eu-west-1\n";
    set_static_profile("base", "AKIDBASE", "base-secret");
    options.profile = "audit";
  }

  void answer_sts(const std::string& url = "https://sts.eu-west-1.amazonaws.com/") {
    transport.route("POST", url, 200,
                    sts_credentials_xml("AssumeRole", "ASIAROLE", "role-secret", "role-token",
                                        "2015-08-30T13:36:00Z"));
  }

  CredentialChainOptions options;
};

TEST_F(AssumeRoleTest, SourceProfileSignsTheStsCallWithExternalId) {
  answer_sts();
  const Credentials credentials = fetch(options);
  EXPECT_EQ(credentials.access_key_id, "ASIAROLE");
  EXPECT_EQ(credentials.secret_access_key, "role-secret");
  EXPECT_EQ(credentials.session_token, "role-token");
  ASSERT_TRUE(credentials.expiration.has_value());
  EXPECT_EQ(format_iso8601(*credentials.expiration), "2015-08-30T13:36:00Z");
  EXPECT_NE(credentials.source.find("arn:aws:iam::123456789012:role/audit"), std::string::npos);
  EXPECT_NE(credentials.source.find("'base'"), std::string::npos);

  ASSERT_EQ(transport.requests.size(), 1U);
  const http::Request& sent = transport.requests[0];
  EXPECT_EQ(sent.method, "POST");
  EXPECT_EQ(sent.operation, "sts:AssumeRole");
  EXPECT_EQ(sent.headers.get("Content-Type"), "application/x-www-form-urlencoded; charset=utf-8");
  const auto form = parse_form(sent.body);
  EXPECT_EQ(form.at("Action"), "AssumeRole");
  EXPECT_EQ(form.at("Version"), "2011-06-15");
  EXPECT_EQ(form.at("RoleArn"), "arn:aws:iam::123456789012:role/audit");
  EXPECT_EQ(form.at("RoleSessionName"), "s1");
  EXPECT_EQ(form.at("ExternalId"), "ext-4242");
  EXPECT_EQ(form.at("DurationSeconds"), "1800");

  // Signed with the source profile's keys: re-signing with them reproduces the signature, and a
  // different secret does not.
  const std::string authorization = sent.headers.get("Authorization");
  EXPECT_NE(authorization.find("Credential=AKIDBASE/20150830/eu-west-1/sts/aws4_request"),
            std::string::npos);
  SigningParams params;
  params.region = "eu-west-1";
  params.service = "sts";
  params.time = clock.now();
  http::Request again = sent;
  sign_request(again, {"AKIDBASE", "base-secret", "", std::nullopt, ""}, params);
  EXPECT_EQ(again.headers.get("Authorization"), authorization);
  http::Request wrong = sent;
  sign_request(wrong, {"AKIDBASE", "other-secret", "", std::nullopt, ""}, params);
  EXPECT_NE(wrong.headers.get("Authorization"), authorization);
}

TEST_F(AssumeRoleTest, RequestIsByteForByteWhatBotocoreSends) {
  std::ifstream in(std::filesystem::path(HSMPROOF_SHARED_DIR) /
                   "reference/sigv4/botocore-generated/signed-requests.json");
  ASSERT_TRUE(in.good());
  const nlohmann::json cases = nlohmann::json::parse(in)["cases"];
  const auto botocore = std::find_if(cases.begin(), cases.end(), [](const nlohmann::json& c) {
    return c["operation"] == "assume_role";
  });
  ASSERT_NE(botocore, cases.end());
  env.files[kConfigPath] =
      "[profile audit]\nrole_arn = arn:aws:iam::123456789012:role/audit\nsource_profile = base\n"
      "role_session_name = s1\nduration_seconds = 900\n";
  env.files[kCredentialsPath] = "";
  set_static_profile("base", "AKIDEXAMPLE", kExampleSecret);
  answer_sts("https://sts.us-east-1.amazonaws.com/");
  fetch(options);
  ASSERT_EQ(transport.requests.size(), 1U);
  const http::Request& sent = transport.requests[0];
  EXPECT_EQ(sent.url, (*botocore)["request"]["url"].get<std::string>());
  EXPECT_EQ(sent.body, (*botocore)["request"]["body"].get<std::string>());
  EXPECT_EQ(sent.headers.get("Authorization"),
            (*botocore)["request"]["headers"]["Authorization"].get<std::string>());
}

TEST_F(AssumeRoleTest, StsEndpointOverrideAndRegionOption) {
  env.variables["AWS_ENDPOINT_URL_STS"] = "http://127.0.0.1:4566";
  options.region = "ap-south-1";
  answer_sts("http://127.0.0.1:4566/");
  fetch(options);
  ASSERT_EQ(transport.requests.size(), 1U);
  EXPECT_EQ(transport.requests[0].headers.get("Host"), "127.0.0.1:4566");
  EXPECT_NE(transport.requests[0].headers.get("Authorization").find("/ap-south-1/sts/"),
            std::string::npos);
}

TEST_F(AssumeRoleTest, RefusesPlainHttpStsEndpoint) {
  env.variables["AWS_ENDPOINT_URL_STS"] = "http://sts.example.com";
  const Error error = resolve_error(options);
  EXPECT_EQ(error.kind, ErrorKind::kUsage);
  EXPECT_NE(error.message.find("AWS_ENDPOINT_URL_STS"), std::string::npos);
}

TEST_F(AssumeRoleTest, StsErrorCarriesCodeStatusAndRequestId) {
  transport.route("POST", "https://sts.eu-west-1.amazonaws.com/", 403,
                  "<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><Error>"
                  "<Type>Sender</Type><Code>AccessDenied</Code><Message>User: "
                  "arn:aws:iam::123456789012:user/base is not authorized to perform: "
                  "sts:AssumeRole</Message></Error><RequestId>req-denied</RequestId>"
                  "</ErrorResponse>");
  const Error error = fetch_error(options);
  EXPECT_EQ(error.kind, ErrorKind::kCredentials);
  EXPECT_EQ(error.http_status, 403);
  EXPECT_EQ(error.provider_code, "AccessDenied");
  EXPECT_EQ(error.request_id, "req-denied");
  EXPECT_EQ(error.operation, "sts:AssumeRole");
  EXPECT_EQ(error.region, "eu-west-1");
  EXPECT_NE(error.message.find("not authorized"), std::string::npos);
  EXPECT_NE(error.message.find("'audit'"), std::string::npos);
}

TEST_F(AssumeRoleTest, MalformedStsAnswerIsAnError) {
  transport.route("POST", "https://sts.eu-west-1.amazonaws.com/", 200, "<AssumeRoleResponse>");
  EXPECT_EQ(fetch_error(options).kind, ErrorKind::kCredentials);
  transport.route("POST", "https://sts.eu-west-1.amazonaws.com/", 200,
                  "<!DOCTYPE x [<!ENTITY a \"b\">]><AssumeRoleResponse/>");
  EXPECT_EQ(fetch_error(options).kind, ErrorKind::kCredentials);
  transport.route(
      "POST", "https://sts.eu-west-1.amazonaws.com/", 200,
      sts_credentials_xml("AssumeRole", "ASIAROLE", "role-secret", "role-token", "tomorrow"));
  EXPECT_EQ(fetch_error(options).kind, ErrorKind::kCredentials);
}

TEST_F(AssumeRoleTest, RoleChainsThroughSeveralProfiles) {
  env.files[kConfigPath] =
      "[profile top]\nrole_arn = arn:aws:iam::111111111111:role/top\nsource_profile = middle\n"
      "[profile middle]\nrole_arn = arn:aws:iam::222222222222:role/middle\n"
      "source_profile = base\n";
  transport.route("POST", "https://sts.us-east-1.amazonaws.com/", 200,
                  sts_credentials_xml("AssumeRole", "ASIAROLE", "role-secret", "role-token",
                                      "2015-08-30T13:36:00Z"));
  options.profile = "top";
  fetch(options);
  ASSERT_EQ(transport.requests.size(), 2U);
  EXPECT_EQ(parse_form(transport.requests[0].body).at("RoleArn"),
            "arn:aws:iam::222222222222:role/middle");
  EXPECT_NE(transport.requests[0].headers.get("Authorization").find("Credential=AKIDBASE/"),
            std::string::npos);
  EXPECT_EQ(parse_form(transport.requests[1].body).at("RoleArn"),
            "arn:aws:iam::111111111111:role/top");
  EXPECT_NE(transport.requests[1].headers.get("Authorization").find("Credential=ASIAROLE/"),
            std::string::npos);
  EXPECT_EQ(transport.requests[1].headers.get("X-Amz-Security-Token"), "role-token");
}

TEST_F(AssumeRoleTest, SourceProfileLoopIsDetected) {
  env.files[kConfigPath] =
      "[profile a]\nrole_arn = arn:aws:iam::111111111111:role/a\nsource_profile = b\n"
      "[profile b]\nrole_arn = arn:aws:iam::111111111111:role/b\nsource_profile = a\n";
  options.profile = "a";
  const Error error = resolve_error(options);
  EXPECT_EQ(error.kind, ErrorKind::kCredentials);
  EXPECT_NE(error.message.find("loop"), std::string::npos);
  EXPECT_NE(error.message.find("'a' -> 'b' -> 'a'"), std::string::npos);
}

TEST_F(AssumeRoleTest, ProfileMaySourceItsOwnStaticKeys) {
  env.files[kConfigPath] =
      "[profile self]\nrole_arn = arn:aws:iam::1:role/self\n"
      "source_profile = self\n";
  set_static_profile("self", "AKIDSELF", "static-secret");
  transport.route("POST", "https://sts.us-east-1.amazonaws.com/", 200,
                  sts_credentials_xml("AssumeRole", "ASIAROLE", "role-secret", "role-token",
                                      "2015-08-30T13:36:00Z"));
  options.profile = "self";
  EXPECT_EQ(fetch(options).access_key_id, "ASIAROLE");
  ASSERT_EQ(transport.requests.size(), 1U);
  EXPECT_NE(transport.requests[0].headers.get("Authorization").find("Credential=AKIDSELF/"),
            std::string::npos);
}

TEST_F(AssumeRoleTest, MissingSourceProfileIsNamed) {
  env.files[kConfigPath] =
      "[profile audit]\nrole_arn = arn:aws:iam::1:role/x\n"
      "source_profile = ghost\n";
  const Error error = resolve_error(options);
  EXPECT_NE(error.message.find("'ghost'"), std::string::npos);
}

TEST_F(AssumeRoleTest, CredentialSourceEnvironment) {
  env.files[kConfigPath] =
      "[profile audit]\nrole_arn = arn:aws:iam::1:role/x\n"
      "credential_source = Environment\n";
  env.variables["AWS_ACCESS_KEY_ID"] = "AKIDENV";
  env.variables["AWS_SECRET_ACCESS_KEY"] = "env-secret";
  transport.route("POST", "https://sts.us-east-1.amazonaws.com/", 200,
                  sts_credentials_xml("AssumeRole", "ASIAROLE", "role-secret", "role-token",
                                      "2015-08-30T13:36:00Z"));
  EXPECT_EQ(fetch(options).access_key_id, "ASIAROLE");
  EXPECT_NE(transport.requests[0].headers.get("Authorization").find("Credential=AKIDENV/"),
            std::string::npos);
  // Without a session name the call still carries one (STS requires it).
  EXPECT_EQ(parse_form(transport.requests[0].body).at("RoleSessionName").rfind("hsmproof-", 0), 0U);
}

TEST_F(AssumeRoleTest, CredentialSourceEc2InstanceMetadata) {
  env.files[kConfigPath] =
      "[profile audit]\nrole_arn = arn:aws:iam::1:role/x\n"
      "credential_source = Ec2InstanceMetadata\n";
  set_imds();
  transport.route("POST", "https://sts.us-east-1.amazonaws.com/", 200,
                  sts_credentials_xml("AssumeRole", "ASIAROLE", "role-secret", "role-token",
                                      "2015-08-30T13:36:00Z"));
  EXPECT_EQ(fetch(options).access_key_id, "ASIAROLE");
  ASSERT_EQ(transport.requests.size(), 4U);
  EXPECT_EQ(transport.requests[3].headers.get("X-Amz-Security-Token"), "imds-token");
}

TEST_F(AssumeRoleTest, CredentialSourceEcsContainerAndUnknownValue) {
  env.files[kConfigPath] =
      "[profile audit]\nrole_arn = arn:aws:iam::1:role/x\n"
      "credential_source = EcsContainer\n";
  EXPECT_NE(resolve_error(options).message.find("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"),
            std::string::npos);
  env.files[kConfigPath] =
      "[profile audit]\nrole_arn = arn:aws:iam::1:role/x\n"
      "credential_source = Laptop\n";
  EXPECT_NE(resolve_error(options).message.find("'Laptop'"), std::string::npos);
  env.files[kConfigPath] = "[profile audit]\nrole_arn = arn:aws:iam::1:role/x\n";
  EXPECT_NE(resolve_error(options).message.find("source_profile"), std::string::npos);
}

TEST_F(AssumeRoleTest, BadDurationIsRefused) {
  env.files[kConfigPath] =
      "[profile audit]\nrole_arn = arn:aws:iam::1:role/x\n"
      "source_profile = base\nduration_seconds = 60\n";
  EXPECT_NE(resolve_error(options).message.find("duration_seconds"), std::string::npos);
}

TEST_F(AssumeRoleTest, ProfileWebIdentityTokenFile) {
  env.files[kConfigPath] =
      "[profile audit]\nrole_arn = arn:aws:iam::1:role/web\n"
      "web_identity_token_file = ~/token\nrole_session_name = pod\n";
  env.files["/home/tester/token"] = "web-token-value";
  transport.route("POST", "https://sts.us-east-1.amazonaws.com/", 200,
                  sts_credentials_xml("AssumeRoleWithWebIdentity", "ASIAWEB", "role-secret",
                                      "role-token", "2015-08-30T13:36:00Z"));
  EXPECT_EQ(fetch(options).access_key_id, "ASIAWEB");
  const auto form = parse_form(transport.requests[0].body);
  EXPECT_EQ(form.at("Action"), "AssumeRoleWithWebIdentity");
  EXPECT_EQ(form.at("WebIdentityToken"), "web-token-value");
  EXPECT_EQ(form.at("RoleSessionName"), "pod");
}

// ---------------------------------------------------------------------------------------------
// (b) web identity from the environment

TEST_F(CredentialChainTest, WebIdentityFromEnvironmentIsUnsignedAndRereadsTheToken) {
  env.variables["AWS_WEB_IDENTITY_TOKEN_FILE"] = "/var/run/token";
  env.variables["AWS_ROLE_ARN"] = "arn:aws:iam::123456789012:role/web";
  env.variables["AWS_ROLE_SESSION_NAME"] = "my-pod";
  env.variables["AWS_REGION"] = "eu-central-1";
  env.files["/var/run/token"] = "web-token-value\n";
  transport.route("POST", "https://sts.eu-central-1.amazonaws.com/", 200,
                  sts_credentials_xml("AssumeRoleWithWebIdentity", "ASIAWEB", "role-secret",
                                      "role-token", "2015-08-30T13:36:00Z"));
  auto provider = resolve();
  ASSERT_TRUE(provider.ok());
  Result<Credentials> credentials = provider.value()->get();
  ASSERT_TRUE(credentials.ok());
  EXPECT_EQ(credentials->session_token, "role-token");
  ASSERT_EQ(transport.requests.size(), 1U);
  const http::Request& sent = transport.requests[0];
  EXPECT_EQ(sent.operation, "sts:AssumeRoleWithWebIdentity");
  EXPECT_EQ(sent.headers.find("Authorization"), nullptr);
  const auto form = parse_form(sent.body);
  EXPECT_EQ(form.at("RoleArn"), "arn:aws:iam::123456789012:role/web");
  EXPECT_EQ(form.at("RoleSessionName"), "my-pod");
  EXPECT_EQ(form.at("WebIdentityToken"), "web-token-value");

  env.files["/var/run/token"] = "rotated-token";
  clock.advance(std::chrono::minutes(56));  // within 5 minutes of 13:36
  ASSERT_TRUE(provider.value()->get().ok());
  ASSERT_EQ(transport.requests.size(), 2U);
  EXPECT_EQ(parse_form(transport.requests[1].body).at("WebIdentityToken"), "rotated-token");
}

TEST_F(CredentialChainTest, WebIdentityNeedsBothVariables) {
  env.variables["AWS_ROLE_ARN"] = "arn:aws:iam::123456789012:role/web";
  EXPECT_NE(resolve_error().message.find("AWS_WEB_IDENTITY_TOKEN_FILE"), std::string::npos);
}

TEST_F(CredentialChainTest, WebIdentityMissingTokenFile) {
  env.variables["AWS_WEB_IDENTITY_TOKEN_FILE"] = "/var/run/none";
  env.variables["AWS_ROLE_ARN"] = "arn:aws:iam::123456789012:role/web";
  const Error error = fetch_error();
  EXPECT_NE(error.message.find("/var/run/none"), std::string::npos);
  EXPECT_TRUE(transport.requests.empty());
}

// ---------------------------------------------------------------------------------------------
// credential_process

class CredentialProcessTest : public CredentialChainTest {
 protected:
  CredentialProcessTest() {
    env.files[kConfigPath] =
        "[profile tool]\ncredential_process = /opt/bin/get-creds --account 42\n";
    options.profile = "tool";
  }
  CredentialChainOptions options;
};

TEST_F(CredentialProcessTest, Success) {
  process_output =
      std::string(R"({"Version": 1, "AccessKeyId": "ASIAPROC", "SecretAccessKey": "proc-secret",)"
                  R"( "SessionToken": "proc-token", "Expiration": "2015-08-30T14:00:00Z"})");
  const Credentials credentials = fetch(options);
  EXPECT_EQ(credentials.access_key_id, "ASIAPROC");
  EXPECT_EQ(credentials.secret_access_key, "proc-secret");
  EXPECT_EQ(credentials.session_token, "proc-token");
  ASSERT_TRUE(credentials.expiration.has_value());
  EXPECT_EQ(format_iso8601(*credentials.expiration), "2015-08-30T14:00:00Z");
  EXPECT_EQ(credentials.source, "profile 'tool' via credential_process");
  ASSERT_EQ(commands.size(), 1U);
  EXPECT_EQ(commands[0], "/opt/bin/get-creds --account 42");
}

TEST_F(CredentialProcessTest, LongTermKeysWithoutExpirationAreCachedForGood) {
  process_output =
      std::string(R"({"Version": 1, "AccessKeyId": "AKIAPROC", "SecretAccessKey": "proc-secret"})");
  auto provider = resolve(options);
  ASSERT_TRUE(provider.ok());
  ASSERT_TRUE(provider.value()->get().ok());
  clock.advance(std::chrono::hours(24 * 30));
  ASSERT_TRUE(provider.value()->get().ok());
  EXPECT_EQ(commands.size(), 1U);
}

TEST_F(CredentialProcessTest, CredentialsAlreadyExpiredAreRefused) {
  // Regression: expired credentials were cached and used, and the process re-ran on every call.
  process_output =
      std::string(R"({"Version": 1, "AccessKeyId": "ASIAPROC", "SecretAccessKey": "proc-secret",)"
                  R"( "SessionToken": "proc-token", "Expiration": "2015-08-30T12:00:00Z"})");
  const Error error = fetch_error(options);
  EXPECT_EQ(error.kind, ErrorKind::kCredentials);
  EXPECT_NE(error.message.find("expired at 2015-08-30T12:00:00Z"), std::string::npos)
      << error.message;
  expect_no_secret(error.describe());
}

TEST_F(CredentialProcessTest, CredentialsInsideTheRefreshWindowAreFetchedOnceUntilTheyExpire) {
  process_output =
      std::string(R"({"Version": 1, "AccessKeyId": "ASIAPROC", "SecretAccessKey": "proc-secret",)"
                  R"( "SessionToken": "proc-token", "Expiration": "2015-08-30T12:38:00Z"})");
  auto provider = resolve(options);
  ASSERT_TRUE(provider.ok());
  for (int call = 0; call < 5; ++call) ASSERT_TRUE(provider.value()->get().ok());
  EXPECT_EQ(commands.size(), 1U);
  clock.advance(std::chrono::minutes(3));  // 12:39: expired, so the source is asked again
  EXPECT_FALSE(provider.value()->get().ok());
  EXPECT_EQ(commands.size(), 2U);
}

TEST_F(CredentialProcessTest, BadJsonNamesProfileAndCommandButNotTheSecret) {
  process_output = std::string(R"({"Version": 1, "AccessKeyId": "ASIAPROC", "SecretAccessKey": )"
                               R"("proc-secret", oops})");
  const Error error = fetch_error(options);
  EXPECT_EQ(error.kind, ErrorKind::kCredentials);
  EXPECT_NE(error.message.find("'tool'"), std::string::npos);
  EXPECT_NE(error.message.find("/opt/bin/get-creds --account 42"), std::string::npos);
  EXPECT_NE(error.message.find("JSON"), std::string::npos);
}

TEST_F(CredentialProcessTest, WrongVersionMissingFieldsAndBadExpiration) {
  process_output =
      std::string(R"({"Version": 2, "AccessKeyId": "ASIAPROC", "SecretAccessKey": "proc-secret"})");
  EXPECT_NE(fetch_error(options).message.find("Version"), std::string::npos);
  process_output = std::string(R"({"Version": 1, "AccessKeyId": "ASIAPROC"})");
  EXPECT_NE(fetch_error(options).message.find("SecretAccessKey"), std::string::npos);
  process_output = std::string(R"({"Version": 1, "AccessKeyId": "ASIAPROC", )"
                               R"("SecretAccessKey": "proc-secret", "Expiration": "soon"})");
  EXPECT_NE(fetch_error(options).message.find("Expiration"), std::string::npos);
}

TEST_F(CredentialProcessTest, NonZeroExitNamesProfileCommandAndCode) {
  process_output = make_error(ErrorKind::kCredentials, "the command exited with code 3");
  const Error error = fetch_error(options);
  EXPECT_EQ(error.kind, ErrorKind::kCredentials);
  EXPECT_NE(error.message.find("'tool'"), std::string::npos);
  EXPECT_NE(error.message.find("/opt/bin/get-creds --account 42"), std::string::npos);
  EXPECT_NE(error.message.find("code 3"), std::string::npos);
}

TEST(RunProcess, CapturesStdout) {
  Result<std::string> output = run_process_capture_stdout("printf 'one\\n'; printf two");
  ASSERT_TRUE(output.ok()) << output.error().describe();
  EXPECT_EQ(output.value(), "one\ntwo");
}

TEST(RunProcess, StdinIsEmptyAndStderrIsNotCaptured) {
  Result<std::string> output = run_process_capture_stdout("cat; echo to-stderr >&2");
  ASSERT_TRUE(output.ok());
  EXPECT_EQ(output.value(), "");
}

TEST(RunProcess, NonZeroExitReportsTheCodeButNotTheOutput) {
  Result<std::string> output = run_process_capture_stdout("echo proc-secret; exit 7");
  ASSERT_FALSE(output.ok());
  EXPECT_EQ(output.error().kind, ErrorKind::kCredentials);
  EXPECT_NE(output.error().message.find("code 7"), std::string::npos);
  EXPECT_EQ(output.error().message.find("proc-secret"), std::string::npos);
}

TEST(RunProcess, RefusesMoreThanOneMebibyte) {
  Result<std::string> output = run_process_capture_stdout("head -c 2000000 /dev/zero");
  ASSERT_FALSE(output.ok());
  EXPECT_NE(output.error().message.find("1 MiB"), std::string::npos);
  EXPECT_TRUE(run_process_capture_stdout("head -c 1048576 /dev/zero").ok());
}

TEST(RunProcess, EndToEndThroughTheChain) {
  FakeEnvironment env;
  env.variables["HOME"] = kHome;
  env.files[kConfigPath] =
      "[default]\ncredential_process = printf '{\"Version\":1,\"AccessKeyId\":\"ASIASH\","
      "\"SecretAccessKey\":\"proc-secret\"}'\n";
  FakeTransport transport;
  FixedClock clock(at("2015-08-30T12:36:00Z"));
  auto provider = resolve_credential_chain(env, transport, clock, {});
  ASSERT_TRUE(provider.ok());
  Result<Credentials> credentials = provider.value()->get();
  ASSERT_TRUE(credentials.ok()) << credentials.error().describe();
  EXPECT_EQ(credentials->access_key_id, "ASIASH");
}

// ---------------------------------------------------------------------------------------------
// (d) container

TEST_F(CredentialChainTest, ContainerFullUriWithAuthorizationToken) {
  env.variables["AWS_CONTAINER_CREDENTIALS_FULL_URI"] = "http://127.0.0.1:9911/creds";
  env.variables["AWS_CONTAINER_AUTHORIZATION_TOKEN"] = "auth-token-value";
  transport.route("GET", "http://127.0.0.1:9911/creds", 200,
                  R"({"AccessKeyId":"ASIAECS","SecretAccessKey":"ecs-secret",)"
                  R"("Token":"ecs-token","Expiration":"2015-08-30T18:00:00Z"})");
  const Credentials credentials = fetch();
  EXPECT_EQ(credentials.access_key_id, "ASIAECS");
  EXPECT_EQ(credentials.session_token, "ecs-token");
  ASSERT_EQ(transport.requests.size(), 1U);
  EXPECT_EQ(transport.requests[0].headers.get("Authorization"), "auth-token-value");
}

TEST_F(CredentialChainTest, ContainerTokenFileWinsAndIsReread) {
  env.variables["AWS_CONTAINER_CREDENTIALS_FULL_URI"] = "http://169.254.170.23/v1/credentials";
  env.variables["AWS_CONTAINER_AUTHORIZATION_TOKEN"] = "ignored-token";
  env.variables["AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"] = "/var/run/pod-token";
  env.files["/var/run/pod-token"] = "auth-token-value\n";
  transport.route("GET", "http://169.254.170.23/v1/credentials", 200,
                  R"({"AccessKeyId":"ASIAECS","SecretAccessKey":"ecs-secret",)"
                  R"("Token":"ecs-token","Expiration":"2015-08-30T12:40:00Z"})");
  auto provider = resolve();
  ASSERT_TRUE(provider.ok());
  ASSERT_TRUE(provider.value()->get().ok());
  EXPECT_EQ(transport.requests[0].headers.get("Authorization"), "auth-token-value");
  env.files["/var/run/pod-token"] = "second-token";
  ASSERT_TRUE(provider.value()->get().ok());  // in the refresh window, but refreshed just now
  ASSERT_EQ(transport.requests.size(), 1U);
  transport.route("GET", "http://169.254.170.23/v1/credentials", 200,
                  R"({"AccessKeyId":"ASIAECS2","SecretAccessKey":"ecs-secret",)"
                  R"("Token":"ecs-token","Expiration":"2015-08-30T13:40:00Z"})");
  clock.advance(std::chrono::minutes(5));  // 12:41: expired, refreshed with the new token
  ASSERT_TRUE(provider.value()->get().ok());
  ASSERT_EQ(transport.requests.size(), 2U);
  EXPECT_EQ(transport.requests[1].headers.get("Authorization"), "second-token");
}

TEST_F(CredentialChainTest, ContainerFullUriMustNotLeakOverPlainHttp) {
  env.variables["AWS_CONTAINER_CREDENTIALS_FULL_URI"] = "http://credentials.example.com/x";
  const Error error = resolve_error();
  EXPECT_EQ(error.kind, ErrorKind::kUsage);
  EXPECT_NE(error.message.find("AWS_CONTAINER_CREDENTIALS_FULL_URI"), std::string::npos);
}

TEST_F(CredentialChainTest, ContainerErrorStatus) {
  env.variables["AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"] = "/v2/credentials/abc";
  transport.route("GET", "http://169.254.170.2/v2/credentials/abc", 500, "oops");
  const Error error = fetch_error();
  EXPECT_EQ(error.http_status, 500);
  EXPECT_EQ(error.kind, ErrorKind::kCredentials);
}

// ---------------------------------------------------------------------------------------------
// (e) EC2 instance metadata

TEST_F(CredentialChainTest, ImdsV2TokenFlow) {
  set_imds();
  const Credentials credentials = fetch();
  EXPECT_EQ(credentials.access_key_id, "ASIAIMDS");
  EXPECT_EQ(credentials.secret_access_key, "imds-secret");
  EXPECT_EQ(credentials.session_token, "imds-token");
  ASSERT_EQ(transport.requests.size(), 3U);
  EXPECT_EQ(transport.requests[0].method, "PUT");
  EXPECT_EQ(transport.requests[0].url, "http://169.254.169.254/latest/api/token");
  EXPECT_EQ(transport.requests[0].headers.get("X-aws-ec2-metadata-token-ttl-seconds"), "21600");
  EXPECT_EQ(transport.requests[1].url,
            "http://169.254.169.254/latest/meta-data/iam/security-credentials/");
  EXPECT_EQ(transport.requests[1].headers.get("X-aws-ec2-metadata-token"), "imds-session");
  EXPECT_EQ(transport.requests[2].url,
            "http://169.254.169.254/latest/meta-data/iam/security-credentials/ec2-role");
  EXPECT_EQ(transport.requests[2].headers.get("X-aws-ec2-metadata-token"), "imds-session");
}

TEST_F(CredentialChainTest, ImdsEndpointOverrideAndMetadataTransport) {
  env.variables["AWS_EC2_METADATA_SERVICE_ENDPOINT"] = "http://127.0.0.1:1338/";
  FakeTransport metadata;
  metadata.route("PUT", "http://127.0.0.1:1338/latest/api/token", 200, "imds-session");
  metadata.route("GET", "http://127.0.0.1:1338/latest/meta-data/iam/security-credentials/", 200,
                 "r");
  metadata.route("GET", "http://127.0.0.1:1338/latest/meta-data/iam/security-credentials/r", 200,
                 R"({"Code":"Success","AccessKeyId":"ASIAIMDS","SecretAccessKey":"imds-secret",)"
                 R"("Token":"imds-token","Expiration":"2015-08-30T18:00:00Z"})");
  CredentialChainOptions options;
  options.metadata_transport = &metadata;
  EXPECT_EQ(fetch(options).access_key_id, "ASIAIMDS");
  EXPECT_TRUE(transport.requests.empty());
  EXPECT_EQ(metadata.requests.size(), 3U);
}

TEST_F(CredentialChainTest, ImdsWithoutRoleSaysSo) {
  transport.route("PUT", "http://169.254.169.254/latest/api/token", 200, "imds-session");
  transport.route("GET", "http://169.254.169.254/latest/meta-data/iam/security-credentials/", 404,
                  "");
  const Error error = resolve_error();
  EXPECT_NE(error.message.find("no IAM role"), std::string::npos);
}

TEST_F(CredentialChainTest, ImdsDisabled) {
  env.variables["AWS_EC2_METADATA_DISABLED"] = "true";
  set_imds();
  const Error error = resolve_error();
  EXPECT_TRUE(transport.requests.empty());
  EXPECT_NE(error.message.find("AWS_EC2_METADATA_DISABLED"), std::string::npos);
}

// ---------------------------------------------------------------------------------------------
// Nothing configured

TEST_F(CredentialChainTest, NothingConfiguredListsWhatWasTriedAndHowToFixIt) {
  const Error error = resolve_error();
  EXPECT_EQ(error.kind, ErrorKind::kCredentials);
  for (const char* expected : {"AWS_ACCESS_KEY_ID", "AWS_WEB_IDENTITY_TOKEN_FILE", kConfigPath,
                               kCredentialsPath, "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
                               "169.254.169.254", "aws configure", "--profile"}) {
    EXPECT_NE(error.message.find(expected), std::string::npos) << expected << "\n" << error.message;
  }
  // IMDS was actually asked (and refused by the fake).
  ASSERT_EQ(transport.requests.size(), 1U);
  EXPECT_EQ(transport.requests[0].url, "http://169.254.169.254/latest/api/token");
}

TEST_F(CredentialChainTest, ProfileWithoutCredentialsFallsThrough) {
  env.files[kConfigPath] = "[default]\nregion = eu-west-1\n";
  set_imds();
  EXPECT_EQ(fetch().access_key_id, "ASIAIMDS");
}

// ---------------------------------------------------------------------------------------------
// Caching and refresh

TEST_F(CredentialChainTest, RefreshesWithinFiveMinutesOfExpiry) {
  set_imds();  // credentials expire at 18:00
  auto provider = resolve();
  ASSERT_TRUE(provider.ok());
  ASSERT_EQ(transport.requests.size(), 3U);  // the probe
  ASSERT_TRUE(provider.value()->get().ok());
  clock.advance(std::chrono::hours(5));  // 17:36, 24 minutes left
  ASSERT_TRUE(provider.value()->get().ok());
  EXPECT_EQ(transport.requests.size(), 3U);
  clock.advance(std::chrono::minutes(20));  // 17:56, 4 minutes left
  transport.route("GET",
                  "http://169.254.169.254/latest/meta-data/iam/security-credentials/ec2-role", 200,
                  R"({"Code":"Success","AccessKeyId":"ASIANEW","SecretAccessKey":"imds-secret",)"
                  R"("Token":"imds-token","Expiration":"2015-08-31T00:00:00Z"})");
  Result<Credentials> refreshed = provider.value()->get();
  ASSERT_TRUE(refreshed.ok());
  EXPECT_EQ(refreshed->access_key_id, "ASIANEW");
  EXPECT_EQ(transport.requests.size(), 6U);
}

TEST_F(CredentialChainTest, FailedRefreshKeepsStillValidCredentialsThenFails) {
  set_imds();
  auto provider = resolve();
  ASSERT_TRUE(provider.ok());
  transport.routes.clear();
  clock.advance(std::chrono::minutes(5 * 60 + 21));  // 17:57: refresh due, refresh fails
  Result<Credentials> kept = provider.value()->get();
  ASSERT_TRUE(kept.ok());
  EXPECT_EQ(kept->access_key_id, "ASIAIMDS");
  clock.advance(std::chrono::minutes(4));  // 18:01: expired
  Result<Credentials> expired = provider.value()->get();
  ASSERT_FALSE(expired.ok());
  EXPECT_EQ(expired.error().kind, ErrorKind::kCredentials);
  expect_no_secret(expired.error().describe());
}

TEST_F(CredentialChainTest, ConcurrentCallersShareOneRefresh) {
  env.variables["AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"] = "/v2/credentials/abc";
  transport.route("GET", "http://169.254.170.2/v2/credentials/abc", 200,
                  R"({"AccessKeyId":"ASIAECS","SecretAccessKey":"ecs-secret",)"
                  R"("Token":"ecs-token","Expiration":"2015-08-30T18:00:00Z"})");
  auto provider = resolve();
  ASSERT_TRUE(provider.ok());
  std::atomic<int> successes{0};
  std::vector<std::thread> threads;
  threads.reserve(8);
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&] {
      for (int j = 0; j < 50; ++j) {
        if (provider.value()->get().ok()) ++successes;
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(successes.load(), 400);
  EXPECT_EQ(transport.requests.size(), 1U);
}

// ---------------------------------------------------------------------------------------------
// Region and INI parsing

TEST(DefaultRegion, OptionThenEnvironmentThenProfileThenUsEast1) {
  FakeEnvironment env;
  env.variables["HOME"] = kHome;
  env.files[kConfigPath] = "[default]\nregion = eu-west-3\n[profile p]\nregion = sa-east-1\n";
  CredentialChainOptions options;
  EXPECT_EQ(resolve_default_region(env, options).value(), "eu-west-3");
  options.profile = "p";
  EXPECT_EQ(resolve_default_region(env, options).value(), "sa-east-1");
  env.variables["AWS_DEFAULT_REGION"] = "ca-central-1";
  EXPECT_EQ(resolve_default_region(env, options).value(), "ca-central-1");
  env.variables["AWS_REGION"] = "af-south-1";
  EXPECT_EQ(resolve_default_region(env, options).value(), "af-south-1");
  options.region = "me-south-1";
  EXPECT_EQ(resolve_default_region(env, options).value(), "me-south-1");
  FakeEnvironment empty;
  EXPECT_EQ(resolve_default_region(empty, {}).value(), "us-east-1");
}

TEST(ParseAwsIni, SectionsKeysCommentsAndContinuations) {
  const auto sections = parse_aws_ini(
      "# leading comment\r\n"
      "[default]\r\n"
      "Region = eu-west-1\r\n"
      "; another comment\n"
      "  indented = continues region\n"
      "[ profile  prod ]  \n"
      "aws_access_key_id=AKID\n"
      "output = json # not a comment in AWS files\n"
      "s3 =\n"
      "  max_concurrent_requests = 20\n"
      "orphan line\n"
      "[default]\n"
      "cli_pager =\n");
  ASSERT_EQ(sections.size(), 2U);
  // As in Python's configparser, an indented line continues the previous value.
  EXPECT_EQ(sections.at("default").at("region"), "eu-west-1\nindented = continues region");
  EXPECT_EQ(sections.at("default").at("cli_pager"), "");
  const auto& prod = sections.at("profile  prod");
  EXPECT_EQ(prod.at("aws_access_key_id"), "AKID");
  EXPECT_EQ(prod.at("output"), "json # not a comment in AWS files");
  EXPECT_EQ(prod.at("s3"), "\nmax_concurrent_requests = 20");
  EXPECT_EQ(prod.count("orphan line"), 0U);
}

TEST_F(CredentialChainTest, ProfileNameWithExtraSpacesInConfigHeader) {
  env.files[kConfigPath] =
      "[profile   spaced ]\naws_access_key_id = AKIDSP\naws_secret_access_key = config-secret\n";
  CredentialChainOptions options;
  options.profile = "spaced";
  EXPECT_EQ(fetch(options).access_key_id, "AKIDSP");
}

}  // namespace
}  // namespace hsmproof::aws
