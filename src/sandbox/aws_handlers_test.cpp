// handle_aws, called directly with requests signed by the client's own SigV4 signer: every
// operation, paging, the AWS front end's authentication failures, and real signatures.

#include <gtest/gtest.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>

#include "collect/aws/sigv4.h"
#include "sandbox/aws_auth.h"
#include "sandbox/aws_common.h"
#include "sandbox/sandbox.h"

namespace hsmproof::sandbox {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

constexpr const char* kAccountA = "111111111111";
constexpr const char* kAccountB = "222222222222";
constexpr const char* kKeyA = "AKIAAAAAAAAAAAAAAAAA";
constexpr const char* kSecretA = "sandbox-secret-of-account-a-0000000000000";
constexpr const char* kKeyB = "AKIABBBBBBBBBBBBBBBB";
constexpr const char* kSecretB = "sandbox-secret-of-account-b-0000000000000";
constexpr const char* kHost = "127.0.0.1:4566";

std::string uuid_for(int n) {
  char buffer[40];
  std::snprintf(buffer, sizeof buffer, "%08x-0000-4000-8000-%012x", n, n);
  return buffer;
}

KmsKeySpec make_key(const std::string& id, const std::string& region, const std::string& spec,
                    const std::string& usage, std::vector<std::string> aliases = {}) {
  KmsKeySpec key;
  key.key_id = id;
  key.region = region;
  key.key_spec = spec;
  key.key_usage = usage;
  key.aliases = std::move(aliases);
  key.description = "key " + id;
  return key;
}

Scenario test_scenario() {
  Scenario scenario;
  scenario.name = "aws-handler-test";
  AwsAccountSpec a;
  a.account_id = kAccountA;
  a.name = "management";
  a.access_key_id = kKeyA;
  a.secret_access_key = kSecretA;
  a.enabled_regions = {"us-east-1", "eu-west-1", "af-south-1"};
  a.disabled_regions = {"ap-east-1"};
  a.keys = {
      make_key(uuid_for(1), "us-east-1", "RSA_2048", "SIGN_VERIFY", {"alias/rsa2048"}),
      make_key(uuid_for(2), "us-east-1", "RSA_3072", "SIGN_VERIFY", {"alias/rsa3072"}),
      make_key(uuid_for(3), "us-east-1", "RSA_4096", "SIGN_VERIFY",
               {"alias/codesign", "alias/rsa4096"}),
      make_key(uuid_for(4), "us-east-1", "ECC_NIST_P256", "SIGN_VERIFY", {"alias/p256"}),
      make_key(uuid_for(5), "us-east-1", "ECC_NIST_P384", "SIGN_VERIFY"),
      make_key(uuid_for(6), "us-east-1", "ECC_NIST_P521", "SIGN_VERIFY"),
      make_key(uuid_for(7), "us-east-1", "ECC_SECG_P256K1", "SIGN_VERIFY"),
      make_key(uuid_for(8), "us-east-1", "SYMMETRIC_DEFAULT", "ENCRYPT_DECRYPT", {"alias/data"}),
      make_key(uuid_for(9), "us-east-1", "HMAC_256", "GENERATE_VERIFY_MAC"),
      make_key(uuid_for(10), "us-east-1", "RSA_4096", "SIGN_VERIFY", {"alias/off"}),
      make_key(uuid_for(11), "us-east-1", "RSA_4096", "SIGN_VERIFY"),
      make_key(uuid_for(12), "us-east-1", "RSA_3072", "ENCRYPT_DECRYPT"),
  };
  a.keys[9].key_state = "Disabled";
  a.keys[10].key_state = "PendingDeletion";
  a.keys[11].origin = "EXTERNAL";
  // Enough keys in one region to need a second page at KMS's default page size of 100.
  for (int i = 0; i < 105; ++i) {
    a.keys.push_back(
        make_key(uuid_for(100 + i), "eu-west-1", "SYMMETRIC_DEFAULT", "ENCRYPT_DECRYPT"));
  }
  TrailSpec everywhere;
  everywhere.name = "org-trail";
  everywhere.home_region = "us-east-1";
  everywhere.multi_region = true;
  everywhere.organization = true;
  TrailSpec local;
  local.name = "eu-trail";
  local.home_region = "eu-west-1";
  local.logging = false;
  local.advanced_event_selectors = json::parse(
      R"([{"Name":"mgmt","FieldSelectors":[{"Field":"eventCategory","Equals":["Management"]},
          {"Field":"eventSource","NotEquals":["kms.amazonaws.com"]}]}])");
  TrailSpec basic;
  basic.name = "write-only";
  basic.home_region = "eu-west-1";
  basic.event_selectors = json::parse(
      R"([{"ReadWriteType":"WriteOnly","IncludeManagementEvents":true,"DataResources":[],
          "ExcludeManagementEventSources":[]}])");
  a.trails = {everywhere, local, basic};
  for (int i = 0; i < 3; ++i) {
    CloudHsmClusterSpec cluster;
    cluster.cluster_id = "cluster-" + std::string(1, static_cast<char>('a' + i)) + "bcdefghijk";
    cluster.region = "us-east-1";
    cluster.state = i == 2 ? "UNINITIALIZED" : "ACTIVE";
    cluster.mode = i == 1 ? "NON_FIPS" : "FIPS";
    CloudHsmSpec hsm;
    hsm.hsm_id = "hsm-" + std::string(1, static_cast<char>('a' + i)) + "bcdefghijk";
    hsm.availability_zone = "us-east-1a";
    cluster.hsms.push_back(hsm);
    a.clusters.push_back(cluster);
  }

  AwsAccountSpec b;
  b.account_id = kAccountB;
  b.name = "member";
  b.access_key_id = kKeyB;
  b.secret_access_key = kSecretB;
  b.enabled_regions = {"us-east-1", "eu-west-1"};
  b.keys = {make_key(uuid_for(500), "us-east-1", "RSA_4096", "SIGN_VERIFY", {"alias/member"})};

  scenario.aws_accounts = {a, b};
  return scenario;
}

struct Creds {
  std::string key;
  std::string secret;
  std::string token;
};

const Creds kCredsA{kKeyA, kSecretA, ""};
const Creds kCredsB{kKeyB, kSecretB, ""};

SandboxRequest to_sandbox(const http::Request& signed_request) {
  SandboxRequest request;
  request.method = signed_request.method;
  const std::string prefix = std::string("http://") + kHost;
  request.target = signed_request.url.substr(prefix.size());
  request.path = request.target.substr(0, request.target.find('?'));
  request.headers = signed_request.headers;
  request.body = signed_request.body;
  request.host = signed_request.headers.get("Host");
  return request;
}

http::Request signed_request(const std::string& service, const std::string& region,
                             const std::string& body, const std::string& target, const Creds& creds,
                             TimePoint at = std::chrono::system_clock::now()) {
  http::Request request;
  request.method = "POST";
  request.url = std::string("http://") + kHost + "/";
  request.body = body;
  if (!target.empty()) {
    request.headers.add("Content-Type", "application/x-amz-json-1.1");
    request.headers.add("X-Amz-Target", target);
  } else {
    request.headers.add("Content-Type", "application/x-www-form-urlencoded; charset=utf-8");
  }
  aws::Credentials credentials{creds.key, creds.secret, creds.token, std::nullopt, "test"};
  aws::SigningParams params;
  params.region = region;
  params.service = service;
  params.time = at;
  aws::sign_request(request, credentials, params);
  return request;
}

struct Answer {
  int status = 0;
  std::string body;
  json json_body;
  std::string request_id;
  std::string content_type;

  [[nodiscard]] std::string error_code() const {
    if (json_body.is_object() && json_body.contains("__type")) return json_body["__type"];
    std::smatch match;
    static const std::regex kCode("<Code>([^<]*)</Code>");
    if (std::regex_search(body, match, kCode)) return match[1];
    return {};
  }
  [[nodiscard]] std::string error_message() const {
    if (json_body.is_object()) {
      for (const char* name : {"message", "Message"}) {
        if (json_body.contains(name)) return json_body[name];
      }
    }
    return xml("Message");
  }
  [[nodiscard]] std::string xml(const std::string& tag) const {
    std::smatch match;
    const std::regex pattern("<" + tag + ">([^<]*)</" + tag + ">");
    if (std::regex_search(body, match, pattern)) return match[1];
    return {};
  }
  [[nodiscard]] std::vector<std::string> xml_all(const std::string& tag) const {
    std::vector<std::string> values;
    const std::regex pattern("<" + tag + ">([^<]*)</" + tag + ">");
    for (auto it = std::sregex_iterator(body.begin(), body.end(), pattern);
         it != std::sregex_iterator(); ++it) {
      values.push_back((*it)[1]);
    }
    return values;
  }
};

class AwsHandlerTest : public ::testing::Test {
 protected:
  AwsHandlerTest() : context_(test_scenario(), std::string("http://") + kHost) {}

  Answer send(const SandboxRequest& request) {
    const std::optional<SandboxResponse> response = handle_aws(request, context_);
    EXPECT_TRUE(response.has_value()) << "handle_aws ignored an AWS request";
    Answer answer;
    if (!response) return answer;
    answer.status = response->status;
    answer.body = response->body;
    answer.request_id = response->headers.get("x-amzn-RequestId");
    answer.content_type = response->headers.get("Content-Type");
    answer.json_body = json::parse(response->body, nullptr, false);
    EXPECT_FALSE(answer.request_id.empty()) << "every answer carries x-amzn-RequestId";
    return answer;
  }

  Answer json_call(const std::string& service, const std::string& region, const std::string& target,
                   const json& input, const Creds& creds = kCredsA) {
    return send(to_sandbox(signed_request(service, region, input.dump(), target, creds)));
  }
  Answer kms(const std::string& operation, const json& input,
             const std::string& region = "us-east-1", const Creds& creds = kCredsA) {
    return json_call("kms", region, "TrentService." + operation, input, creds);
  }
  Answer cloudtrail(const std::string& operation, const json& input,
                    const std::string& region = "us-east-1", const Creds& creds = kCredsA) {
    return json_call("cloudtrail", region,
                     "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101." + operation, input,
                     creds);
  }
  Answer cloudhsm(const json& input, const std::string& region = "us-east-1") {
    return json_call("cloudhsm", region, "BaldrApiService.DescribeClusters", input);
  }
  Answer query(const std::string& service, const std::string& body,
               const std::string& region = "us-east-1", const Creds& creds = kCredsA) {
    return send(to_sandbox(signed_request(service, region, body, "", creds)));
  }

  SandboxContext context_;
};

std::string key_arn(const std::string& region, const std::string& id,
                    const std::string& account = kAccountA) {
  return "arn:aws:kms:" + region + ":" + account + ":key/" + id;
}

// ---- recognition ----

TEST_F(AwsHandlerTest, IgnoresRequestsThatAreNotAws) {
  SandboxRequest azure;
  azure.method = "GET";
  azure.path = "/subscriptions";
  azure.target = "/subscriptions?api-version=2022-12-01";
  azure.headers.add("Authorization", "Bearer abc");
  EXPECT_FALSE(handle_aws(azure, context_).has_value());

  SandboxRequest token;
  token.method = "POST";
  token.path = "/tenant/oauth2/v2.0/token";
  token.target = token.path;
  token.headers.add("Content-Type", "application/x-www-form-urlencoded");
  token.body = "grant_type=client_credentials&client_id=x";
  EXPECT_FALSE(handle_aws(token, context_).has_value());
}

TEST_F(AwsHandlerTest, UnsignedAwsCallsAreRefusedAsMissingAuthentication) {
  SandboxRequest json_call;
  json_call.method = "POST";
  json_call.path = json_call.target = "/";
  json_call.headers.add("X-Amz-Target", "TrentService.ListKeys");
  json_call.body = "{}";
  Answer answer = send(json_call);
  EXPECT_EQ(answer.status, 400);
  EXPECT_EQ(answer.error_code(), "MissingAuthenticationTokenException");
  EXPECT_EQ(answer.content_type, "application/x-amz-json-1.1");

  SandboxRequest form;
  form.method = "POST";
  form.path = form.target = "/";
  form.headers.add("Content-Type", "application/x-www-form-urlencoded");
  form.body = "Action=GetCallerIdentity&Version=2011-06-15";
  answer = send(form);
  EXPECT_EQ(answer.status, 403);
  EXPECT_EQ(answer.error_code(), "MissingAuthenticationToken");
  EXPECT_EQ(answer.content_type, "text/xml");
  EXPECT_EQ(answer.xml("RequestId"), answer.request_id);
}

// ---- SigV4 verification ----

// The verifier must agree with botocore on real service requests, byte for byte.
TEST(AwsSigv4Verifier, AgreesWithBotocoreGeneratedRequests) {
  std::ifstream file(fs::path(HSMPROOF_SHARED_DIR) /
                     "reference/sigv4/botocore-generated/signed-requests.json");
  ASSERT_TRUE(file.good());
  const json vectors = json::parse(file);
  int checked = 0;
  for (const json& vector : vectors["cases"]) {
    const json& http_request = vector["request"];
    const std::string url = http_request["url"];
    const std::size_t authority = url.find("://") + 3;
    const std::size_t path_start = url.find('/', authority);
    SandboxRequest request;
    request.method = http_request["method"];
    request.host = url.substr(authority, path_start - authority);
    request.target = url.substr(path_start);
    request.path = request.target.substr(0, request.target.find('?'));
    request.headers.add("Host", request.host);
    for (const auto& [name, value] : http_request["headers"].items()) {
      request.headers.add(name, value.get<std::string>());
    }
    request.body = http_request["body"];
    std::string problem;
    const auto auth = aws_impl::parse_authorization(request.headers.get("Authorization"), problem);
    ASSERT_TRUE(auth.has_value()) << problem;
    EXPECT_EQ(aws_impl::expected_signature(request, *auth, request.headers.get("X-Amz-Date"),
                                           "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"),
              vector["signature"].get<std::string>())
        << vector["service"] << " " << vector["operation"];
    ++checked;
  }
  EXPECT_EQ(checked, 13);
}

// AWS's own suite, as signed requests on the wire (the normalising cases: every service but S3
// normalises the path, so the front end does too).
TEST(AwsSigv4Verifier, AgreesWithTheAwsSigningSuite) {
  const fs::path suite = fs::path(HSMPROOF_SHARED_DIR) / "reference/sigv4/aws-c-auth-v4";
  int checked = 0;
  for (const auto& entry : fs::directory_iterator(suite)) {
    std::ifstream context_file(entry.path() / "context.json");
    const json context = json::parse(context_file);
    if (!context.value("normalize", true)) continue;
    std::ifstream request_file(entry.path() / "header-signed-request.txt", std::ios::binary);
    std::stringstream raw;
    raw << request_file.rdbuf();
    const std::string text = raw.str();

    SandboxRequest request;
    std::size_t line_end = text.find('\n');
    const std::string request_line = text.substr(0, line_end);
    request.method = request_line.substr(0, request_line.find(' '));
    request.target = request_line.substr(request.method.size() + 1,
                                         request_line.rfind(' ') - request.method.size() - 1);
    request.path = request.target.substr(0, request.target.find('?'));
    std::size_t position = line_end + 1;
    while (position < text.size()) {
      line_end = text.find('\n', position);
      if (line_end == std::string::npos) line_end = text.size();
      const std::string line = text.substr(position, line_end - position);
      position = line_end + 1;
      if (line.empty()) break;
      if (line.front() == ' ' || line.front() == '\t') {
        request.headers.entries.back().second += " " + line;  // folded continuation
        continue;
      }
      const std::size_t colon = line.find(':');
      request.headers.add(line.substr(0, colon), line.substr(colon + 1));
    }
    request.body = position < text.size() ? text.substr(position) : std::string();
    request.host = request.headers.get("Host");

    std::string problem;
    const auto auth = aws_impl::parse_authorization(request.headers.get("Authorization"), problem);
    ASSERT_TRUE(auth.has_value()) << entry.path() << ": " << problem;
    EXPECT_TRUE(aws_impl::signatures_equal(
        aws_impl::expected_signature(request, *auth, request.headers.get("X-Amz-Date"),
                                     context["credentials"]["secret_access_key"]),
        auth->signature))
        << entry.path().filename();
    ++checked;
  }
  EXPECT_GE(checked, 30);
}

TEST(AwsSigv4Verifier, ParsesAndRejectsAuthorizationHeaders) {
  std::string problem;
  auto parsed = aws_impl::parse_authorization(
      "AWS4-HMAC-SHA256 Credential=AKID/20150830/eu-west-1/kms/aws4_request, "
      "SignedHeaders=host;x-amz-date, Signature=abcd",
      problem);
  ASSERT_TRUE(parsed.has_value()) << problem;
  EXPECT_EQ(parsed->access_key_id, "AKID");
  EXPECT_EQ(parsed->region, "eu-west-1");
  EXPECT_EQ(parsed->service, "kms");
  EXPECT_EQ(parsed->signed_headers, "host;x-amz-date");
  EXPECT_EQ(parsed->scope(), "20150830/eu-west-1/kms/aws4_request");

  EXPECT_FALSE(aws_impl::parse_authorization(
      "AWS4-HMAC-SHA256 Credential=AKID/20150830/eu-west-1/kms/aws4_request", problem));
  EXPECT_NE(problem.find("'Signature'"), std::string::npos);
  EXPECT_NE(problem.find("'SignedHeaders'"), std::string::npos);
  EXPECT_FALSE(
      aws_impl::parse_authorization("AWS4-HMAC-SHA256 Credential=AKID/20150830/kms/aws4_request, "
                                    "SignedHeaders=host, Signature=ab",
                                    problem));
  EXPECT_FALSE(aws_impl::parse_authorization(
      "AWS4-HMAC-SHA256 Credential=AKID/20150830/eu-west-1/kms/aws5_request, SignedHeaders=host, "
      "Signature=ab",
      problem));
  EXPECT_NE(problem.find("aws4_request"), std::string::npos);
}

TEST(AwsSigv4Verifier, AllowsFiveMinutesOfSkewEitherWay) {
  const TimePoint now = std::chrono::system_clock::from_time_t(1440938160);  // 2015-08-30T12:36:00Z
  EXPECT_EQ(aws_impl::clock_skew_problem(now - std::chrono::minutes(5), now), "");
  EXPECT_EQ(aws_impl::clock_skew_problem(now + std::chrono::minutes(5), now), "");
  EXPECT_EQ(aws_impl::clock_skew_problem(now - std::chrono::minutes(6), now),
            "Signature expired: 20150830T123000Z is now earlier than 20150830T123100Z "
            "(20150830T123600Z - 5 min.)");
  EXPECT_EQ(aws_impl::clock_skew_problem(now + std::chrono::minutes(6), now),
            "Signature not yet current: 20150830T124200Z is still later than 20150830T124100Z "
            "(20150830T123600Z + 5 min.)");
  EXPECT_FALSE(aws_impl::parse_amz_date("2015-08-30T12:36:00Z").has_value());
  EXPECT_EQ(aws_impl::parse_amz_date("20150830T123600Z"), now);
}

TEST_F(AwsHandlerTest, WrongSecretIsRefusedPerProtocol) {
  const Creds wrong{kKeyA, "not-the-secret-of-account-a-000000000000", ""};
  Answer answer = kms("ListKeys", json::object(), "us-east-1", wrong);
  EXPECT_EQ(answer.status, 400);
  EXPECT_EQ(answer.error_code(), "InvalidSignatureException");
  EXPECT_NE(answer.error_message().find("does not match the signature you provided"),
            std::string::npos);

  answer = query("sts", "Action=GetCallerIdentity&Version=2011-06-15", "us-east-1", wrong);
  EXPECT_EQ(answer.status, 403);
  EXPECT_EQ(answer.error_code(), "SignatureDoesNotMatch");
  EXPECT_EQ(answer.xml("Type"), "Sender");
  EXPECT_EQ(answer.xml("RequestId"), answer.request_id);

  answer = query("ec2", "Action=DescribeRegions&Version=2016-11-15", "us-east-1", wrong);
  EXPECT_EQ(answer.status, 403);
  EXPECT_EQ(answer.error_code(), "SignatureDoesNotMatch");
  EXPECT_EQ(answer.xml("RequestID"), answer.request_id);
}

TEST_F(AwsHandlerTest, UnknownAccessKeyIsRefusedPerProtocol) {
  const Creds stranger{"AKIAUNKNOWNUNKNOWN00", kSecretA, ""};
  Answer answer = kms("ListKeys", json::object(), "us-east-1", stranger);
  EXPECT_EQ(answer.status, 400);
  EXPECT_EQ(answer.error_code(), "UnrecognizedClientException");
  EXPECT_EQ(answer.error_message(), "The security token included in the request is invalid.");
  answer = cloudtrail("DescribeTrails", json::object(), "us-east-1", stranger);
  EXPECT_EQ(answer.error_code(), "UnrecognizedClientException");

  answer = query("sts", "Action=GetCallerIdentity&Version=2011-06-15", "us-east-1", stranger);
  EXPECT_EQ(answer.status, 403);
  EXPECT_EQ(answer.error_code(), "InvalidClientTokenId");
  EXPECT_EQ(answer.error_message(), "The security token included in the request is invalid.");

  answer = query("ec2", "Action=DescribeRegions&Version=2016-11-15", "us-east-1", stranger);
  EXPECT_EQ(answer.status, 401);
  EXPECT_EQ(answer.error_code(), "AuthFailure");
}

TEST_F(AwsHandlerTest, ForgedSignatureIsRefused) {
  http::Request request =
      signed_request("kms", "us-east-1", "{}", "TrentService.ListKeys", kCredsA);
  std::string authorization = request.headers.get("Authorization");
  // Change one hex digit of the signature.
  char& last = authorization.back();
  last = last == '0' ? '1' : '0';
  request.headers.set("Authorization", authorization);
  Answer answer = send(to_sandbox(request));
  EXPECT_EQ(answer.status, 400);
  EXPECT_EQ(answer.error_code(), "InvalidSignatureException");

  // A body changed after signing.
  request = signed_request("kms", "us-east-1", R"({"Limit":1})", "TrentService.ListKeys", kCredsA);
  request.body = R"({"Limit":2})";
  EXPECT_EQ(send(to_sandbox(request)).error_code(), "InvalidSignatureException");

  // A signed header changed after signing (the operation).
  request = signed_request("kms", "us-east-1", "{}", "TrentService.ListKeys", kCredsA);
  request.headers.set("X-Amz-Target", "TrentService.ListAliases");
  EXPECT_EQ(send(to_sandbox(request)).error_code(), "InvalidSignatureException");

  // The Host header, port included, is part of what was signed.
  request = signed_request("kms", "us-east-1", "{}", "TrentService.ListKeys", kCredsA);
  SandboxRequest moved = to_sandbox(request);
  moved.headers.set("Host", "127.0.0.1:4567");
  moved.host = "127.0.0.1:4567";
  EXPECT_EQ(send(moved).error_code(), "InvalidSignatureException");

  // A signature scoped to another region.
  request = signed_request("kms", "us-east-1", "{}", "TrentService.ListKeys", kCredsA);
  authorization = request.headers.get("Authorization");
  authorization.replace(authorization.find("us-east-1"), 9, "eu-west-1");
  request.headers.set("Authorization", authorization);
  EXPECT_EQ(send(to_sandbox(request)).error_code(), "InvalidSignatureException");
}

TEST_F(AwsHandlerTest, UnsignedHeadersMayChange) {
  http::Request request =
      signed_request("kms", "us-east-1", "{}", "TrentService.ListKeys", kCredsA);
  request.headers.set("User-Agent", "changed/1.0");
  request.headers.set("amz-sdk-request", "attempt=2; max=3");
  EXPECT_EQ(send(to_sandbox(request)).status, 200);
}

TEST_F(AwsHandlerTest, ExpiredAndFutureDatesAreRefused) {
  const TimePoint now = std::chrono::system_clock::now();
  Answer answer = send(to_sandbox(signed_request("kms", "us-east-1", "{}", "TrentService.ListKeys",
                                                 kCredsA, now - std::chrono::minutes(10))));
  EXPECT_EQ(answer.status, 400);
  EXPECT_EQ(answer.error_code(), "InvalidSignatureException");
  EXPECT_EQ(answer.error_message().rfind("Signature expired: ", 0), 0U) << answer.error_message();

  answer = send(to_sandbox(signed_request("kms", "us-east-1", "{}", "TrentService.ListKeys",
                                          kCredsA, now + std::chrono::minutes(10))));
  EXPECT_EQ(answer.error_code(), "InvalidSignatureException");
  EXPECT_EQ(answer.error_message().rfind("Signature not yet current: ", 0), 0U);

  answer = send(
      to_sandbox(signed_request("sts", "us-east-1", "Action=GetCallerIdentity&Version=2011-06-15",
                                "", kCredsA, now - std::chrono::minutes(10))));
  EXPECT_EQ(answer.status, 403);
  EXPECT_EQ(answer.error_code(), "SignatureDoesNotMatch");
  EXPECT_EQ(answer.error_message().rfind("Signature expired: ", 0), 0U);

  answer = send(
      to_sandbox(signed_request("ec2", "us-east-1", "Action=DescribeRegions&Version=2016-11-15", "",
                                kCredsA, now - std::chrono::minutes(10))));
  EXPECT_EQ(answer.error_code(), "RequestExpired");
}

TEST_F(AwsHandlerTest, MalformedAuthorizationIsAnIncompleteSignature) {
  http::Request request =
      signed_request("kms", "us-east-1", "{}", "TrentService.ListKeys", kCredsA);
  std::string authorization = request.headers.get("Authorization");
  authorization.erase(authorization.find(", Signature="));
  request.headers.set("Authorization", authorization);
  Answer answer = send(to_sandbox(request));
  EXPECT_EQ(answer.error_code(), "IncompleteSignatureException");
  EXPECT_EQ(answer.body.find(kSecretA), std::string::npos);

  request = signed_request("kms", "us-east-1", "{}", "TrentService.ListKeys", kCredsA);
  request.headers.set("X-Amz-Date", "yesterday");
  EXPECT_EQ(send(to_sandbox(request)).error_code(), "IncompleteSignatureException");
}

TEST_F(AwsHandlerTest, HostMustBeSigned) {
  http::Request request;
  request.method = "POST";
  request.url = std::string("http://") + kHost + "/";
  request.body = "{}";
  request.headers.add("X-Amz-Target", "TrentService.ListKeys");
  const std::string amz_date = format_amz_date(std::chrono::system_clock::now());
  request.headers.add("X-Amz-Date", amz_date);
  const std::string scope = amz_date.substr(0, 8) + "/us-east-1/kms/aws4_request";
  const std::string canonical =
      aws::canonical_request(request, "x-amz-date;x-amz-target", aws::sha256_hex("{}"));
  const std::string signature = aws::hex(
      aws::hmac_sha256(aws::signing_key(kSecretA, amz_date.substr(0, 8), "us-east-1", "kms"),
                       aws::string_to_sign(amz_date, scope, canonical)));
  request.headers.add("Authorization",
                      std::string("AWS4-HMAC-SHA256 Credential=") + kKeyA + "/" + scope +
                          ", SignedHeaders=x-amz-date;x-amz-target, Signature=" + signature);
  SandboxRequest sandbox_request = to_sandbox(request);
  sandbox_request.headers.add("Host", kHost);
  sandbox_request.host = kHost;
  const Answer answer = send(sandbox_request);
  EXPECT_EQ(answer.error_code(), "InvalidSignatureException");
  EXPECT_NE(answer.error_message().find("'Host'"), std::string::npos);
}

TEST_F(AwsHandlerTest, DisabledAndUnknownRegionsRejectTheToken) {
  Answer answer = kms("ListKeys", json::object(), "ap-east-1");
  EXPECT_EQ(answer.status, 400);
  EXPECT_EQ(answer.error_code(), "UnrecognizedClientException");
  answer = kms("ListKeys", json::object(), "us-west-2");
  EXPECT_EQ(answer.error_code(), "UnrecognizedClientException");
  answer = query("sts", "Action=GetCallerIdentity&Version=2011-06-15", "ap-east-1");
  EXPECT_EQ(answer.error_code(), "InvalidClientTokenId");
  // The opted-in region answers.
  EXPECT_EQ(kms("ListKeys", json::object(), "af-south-1").status, 200);
}

TEST_F(AwsHandlerTest, UnknownOperationsAndServices) {
  Answer answer = kms("Encrypt", {{"KeyId", uuid_for(8)}, {"Plaintext", "AA=="}});
  EXPECT_EQ(answer.status, 400);
  EXPECT_EQ(answer.error_code(), "UnknownOperationException");
  // A target of another service, signed for KMS.
  answer = json_call("kms", "us-east-1", "BaldrApiService.DescribeClusters", json::object());
  EXPECT_EQ(answer.error_code(), "UnknownOperationException");
  answer = json_call("cloudhsm", "us-east-1", "BaldrApiService.DeleteCluster", json::object());
  EXPECT_EQ(answer.error_code(), "UnknownOperationException");
  answer = query("sts", "Action=GetSessionToken&Version=2011-06-15");
  EXPECT_EQ(answer.error_code(), "InvalidAction");
  answer = query("ec2", "Action=DescribeInstances&Version=2016-11-15");
  EXPECT_EQ(answer.error_code(), "InvalidAction");
  answer = json_call("s3", "us-east-1", "", json::object());
  EXPECT_EQ(answer.status, 400);
}

TEST_F(AwsHandlerTest, MalformedJsonBodyIsASerializationError) {
  Answer answer = send(to_sandbox(
      signed_request("kms", "us-east-1", "{not json", "TrentService.ListKeys", kCredsA)));
  EXPECT_EQ(answer.error_code(), "SerializationException");
  answer = kms("ListKeys", {{"Limit", "ten"}});
  EXPECT_EQ(answer.error_code(), "SerializationException");
}

// ---- KMS ----

TEST_F(AwsHandlerTest, ListKeysPagesWithMarkers) {
  std::vector<std::string> seen;
  json input = {{"Limit", 5}};
  int pages = 0;
  for (;;) {
    const Answer answer = kms("ListKeys", input);
    ASSERT_EQ(answer.status, 200) << answer.body;
    EXPECT_EQ(answer.content_type, "application/x-amz-json-1.1");
    ++pages;
    for (const json& key : answer.json_body["Keys"]) {
      seen.push_back(key["KeyId"]);
      EXPECT_EQ(key["KeyArn"], key_arn("us-east-1", key["KeyId"]));
    }
    ASSERT_TRUE(answer.json_body["Truncated"].is_boolean());
    if (!answer.json_body["Truncated"].get<bool>()) {
      EXPECT_FALSE(answer.json_body.contains("NextMarker"));
      break;
    }
    EXPECT_EQ(answer.json_body["Keys"].size(), 5U);
    input["Marker"] = answer.json_body["NextMarker"];
  }
  EXPECT_EQ(pages, 3);
  std::set<std::string> unique(seen.begin(), seen.end());
  EXPECT_EQ(unique.size(), 12U);
  EXPECT_EQ(seen.size(), 12U);
  EXPECT_TRUE(unique.count(uuid_for(1)) == 1 && unique.count(uuid_for(12)) == 1);
}

TEST_F(AwsHandlerTest, ListKeysDefaultsToPagesOfOneHundred) {
  Answer answer = kms("ListKeys", json::object(), "eu-west-1");
  ASSERT_EQ(answer.status, 200);
  EXPECT_EQ(answer.json_body["Keys"].size(), 100U);
  EXPECT_TRUE(answer.json_body["Truncated"].get<bool>());
  answer = kms("ListKeys", {{"Marker", answer.json_body["NextMarker"]}}, "eu-west-1");
  EXPECT_EQ(answer.json_body["Keys"].size(), 5U);
  EXPECT_FALSE(answer.json_body["Truncated"].get<bool>());
  answer = kms("ListKeys", {{"Limit", 1000}}, "eu-west-1");
  EXPECT_EQ(answer.json_body["Keys"].size(), 105U);
}

TEST_F(AwsHandlerTest, ListKeysValidatesLimitAndMarker) {
  Answer answer = kms("ListKeys", {{"Limit", 0}});
  EXPECT_EQ(answer.error_code(), "ValidationException");
  answer = kms("ListKeys", {{"Limit", 1001}});
  EXPECT_EQ(answer.error_code(), "ValidationException");
  answer = kms("ListKeys", {{"Marker", "not-a-marker"}});
  EXPECT_EQ(answer.error_code(), "InvalidMarkerException");
  // A marker of another list is no marker here.
  const Answer aliases = kms("ListAliases", {{"Limit", 1}});
  answer = kms("ListKeys", {{"Marker", aliases.json_body["NextMarker"]}});
  EXPECT_EQ(answer.error_code(), "InvalidMarkerException");
}

TEST_F(AwsHandlerTest, DescribeKeyByEveryIdentifierForm) {
  const std::string id = uuid_for(3);
  const std::string arn = key_arn("us-east-1", id);
  for (const std::string& identifier :
       {id, arn, std::string("alias/codesign"),
        std::string("arn:aws:kms:us-east-1:") + kAccountA + ":alias/rsa4096"}) {
    const Answer answer = kms("DescribeKey", {{"KeyId", identifier}});
    ASSERT_EQ(answer.status, 200) << identifier << ": " << answer.body;
    const json& metadata = answer.json_body["KeyMetadata"];
    EXPECT_EQ(metadata["KeyId"], id);
    EXPECT_EQ(metadata["Arn"], arn);
    EXPECT_EQ(metadata["AWSAccountId"], kAccountA);
    EXPECT_EQ(metadata["KeySpec"], "RSA_4096");
    EXPECT_EQ(metadata["CustomerMasterKeySpec"], "RSA_4096");
    EXPECT_EQ(metadata["KeyUsage"], "SIGN_VERIFY");
    EXPECT_EQ(metadata["KeyState"], "Enabled");
    EXPECT_EQ(metadata["Enabled"], true);
    EXPECT_EQ(metadata["Origin"], "AWS_KMS");
    EXPECT_EQ(metadata["KeyManager"], "CUSTOMER");
    EXPECT_TRUE(metadata["CreationDate"].is_number());
    EXPECT_EQ(metadata["SigningAlgorithms"].size(), 6U);
    EXPECT_FALSE(metadata.contains("EncryptionAlgorithms"));
  }
  const json disabled = kms("DescribeKey", {{"KeyId", uuid_for(10)}}).json_body["KeyMetadata"];
  EXPECT_EQ(disabled["KeyState"], "Disabled");
  EXPECT_EQ(disabled["Enabled"], false);
  const json deleting = kms("DescribeKey", {{"KeyId", uuid_for(11)}}).json_body["KeyMetadata"];
  EXPECT_EQ(deleting["KeyState"], "PendingDeletion");
  EXPECT_TRUE(deleting["DeletionDate"].is_number());
  const json symmetric = kms("DescribeKey", {{"KeyId", "alias/data"}}).json_body["KeyMetadata"];
  EXPECT_EQ(symmetric["EncryptionAlgorithms"], json::array({"SYMMETRIC_DEFAULT"}));
  const json hmac = kms("DescribeKey", {{"KeyId", uuid_for(9)}}).json_body["KeyMetadata"];
  EXPECT_EQ(hmac["MacAlgorithms"], json::array({"HMAC_SHA_256"}));
  const json external = kms("DescribeKey", {{"KeyId", uuid_for(12)}}).json_body["KeyMetadata"];
  EXPECT_EQ(external["Origin"], "EXTERNAL");
  EXPECT_EQ(external["EncryptionAlgorithms"],
            json::array({"RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256"}));
}

TEST_F(AwsHandlerTest, DescribeKeyNotFoundAndInvalidArn) {
  Answer answer = kms("DescribeKey", {{"KeyId", uuid_for(999)}});
  EXPECT_EQ(answer.status, 400);
  EXPECT_EQ(answer.error_code(), "NotFoundException");
  EXPECT_EQ(answer.error_message(),
            "Key '" + key_arn("us-east-1", uuid_for(999)) + "' does not exist");
  answer = kms("DescribeKey", {{"KeyId", "alias/nope"}});
  EXPECT_EQ(answer.error_code(), "NotFoundException");
  EXPECT_EQ(answer.error_message(), std::string("Alias 'arn:aws:kms:us-east-1:") + kAccountA +
                                        ":alias/nope' is not found.");
  // Keys are regional: an eu-west-1 key is not found through us-east-1.
  answer = kms("DescribeKey", {{"KeyId", uuid_for(100)}});
  EXPECT_EQ(answer.error_code(), "NotFoundException");
  answer = kms("DescribeKey", {{"KeyId", key_arn("eu-west-1", uuid_for(100))}});
  EXPECT_EQ(answer.error_code(), "NotFoundException");
  answer = kms("DescribeKey", {{"KeyId", "arn:aws:kms:us-east-1:111111111111:thing/x"}});
  EXPECT_EQ(answer.error_code(), "InvalidArnException");
  answer = kms("DescribeKey", json::object());
  EXPECT_EQ(answer.error_code(), "ValidationException");
  // Another account's key exists but no key policy lets this caller in.
  answer = kms("DescribeKey", {{"KeyId", key_arn("us-east-1", uuid_for(500), kAccountB)}});
  EXPECT_EQ(answer.error_code(), "AccessDeniedException");
}

TEST_F(AwsHandlerTest, ListAliasesPagesAndIncludesAwsManagedAliases) {
  std::vector<json> aliases;
  json input = {{"Limit", 4}};
  for (int guard = 0; guard < 50; ++guard) {
    const Answer answer = kms("ListAliases", input);
    ASSERT_EQ(answer.status, 200) << answer.body;
    for (const json& alias : answer.json_body["Aliases"]) aliases.push_back(alias);
    if (!answer.json_body["Truncated"].get<bool>()) break;
    input["Marker"] = answer.json_body["NextMarker"];
  }
  std::map<std::string, json> by_name;
  for (const json& alias : aliases) by_name[alias["AliasName"]] = alias;
  EXPECT_EQ(by_name.size(), aliases.size()) << "no alias twice across pages";
  ASSERT_EQ(by_name.count("alias/codesign"), 1U);
  EXPECT_EQ(by_name["alias/codesign"]["TargetKeyId"], uuid_for(3));
  EXPECT_EQ(by_name["alias/codesign"]["AliasArn"],
            std::string("arn:aws:kms:us-east-1:") + kAccountA + ":alias/codesign");
  EXPECT_TRUE(by_name["alias/codesign"]["CreationDate"].is_number());
  ASSERT_EQ(by_name.count("alias/aws/ebs"), 1U);
  EXPECT_FALSE(by_name["alias/aws/ebs"].contains("TargetKeyId"));
  EXPECT_EQ(aliases.size(), 7U + 14U);

  const Answer one_key = kms("ListAliases", {{"KeyId", key_arn("us-east-1", uuid_for(3))}});
  ASSERT_EQ(one_key.status, 200);
  EXPECT_EQ(one_key.json_body["Aliases"].size(), 2U);
  EXPECT_EQ(kms("ListAliases", {{"KeyId", uuid_for(999)}}).error_code(), "NotFoundException");
  EXPECT_EQ(kms("ListAliases", {{"Limit", 101}}).error_code(), "ValidationException");
  // Default page size 50 covers this region; the answer says it is complete.
  const Answer all = kms("ListAliases", json::object());
  EXPECT_EQ(all.json_body["Aliases"].size(), 21U);
  EXPECT_FALSE(all.json_body["Truncated"].get<bool>());
}

struct PkeyFree {
  void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyFree>;

Pkey parse_public_key(const std::string& base64_der) {
  const std::optional<std::string> der = aws_impl::base64_decode(base64_der);
  if (!der) return nullptr;
  const auto* data = reinterpret_cast<const unsigned char*>(der->data());
  return Pkey(d2i_PUBKEY(nullptr, &data, static_cast<long>(der->size())));
}

std::string curve_of(EVP_PKEY* key) {
  char name[80] = {};
  std::size_t length = 0;
  EVP_PKEY_get_utf8_string_param(key, "group", name, sizeof name, &length);
  return name;
}

TEST_F(AwsHandlerTest, GetPublicKeyReturnsTheSpkiOfEveryAsymmetricSpec) {
  struct Case {
    int key;
    int type;
    int bits;
    std::string curve;
  };
  const std::vector<Case> cases = {
      {1, EVP_PKEY_RSA, 2048, ""},        {2, EVP_PKEY_RSA, 3072, ""},
      {3, EVP_PKEY_RSA, 4096, ""},        {4, EVP_PKEY_EC, 256, "prime256v1"},
      {5, EVP_PKEY_EC, 384, "secp384r1"}, {6, EVP_PKEY_EC, 521, "secp521r1"},
      {7, EVP_PKEY_EC, 256, "secp256k1"}, {12, EVP_PKEY_RSA, 3072, ""}};
  for (const Case& c : cases) {
    const Answer answer = kms("GetPublicKey", {{"KeyId", uuid_for(c.key)}});
    ASSERT_EQ(answer.status, 200) << answer.body;
    EXPECT_EQ(answer.json_body["KeyId"], key_arn("us-east-1", uuid_for(c.key)));
    const Pkey key = parse_public_key(answer.json_body["PublicKey"]);
    ASSERT_TRUE(key) << "PublicKey is not a DER SubjectPublicKeyInfo";
    EXPECT_EQ(EVP_PKEY_base_id(key.get()), c.type);
    EXPECT_EQ(EVP_PKEY_get_bits(key.get()), c.bits);
    if (!c.curve.empty()) {
      EXPECT_EQ(curve_of(key.get()), c.curve);
    }
    EXPECT_EQ(answer.json_body["KeySpec"], answer.json_body["CustomerMasterKeySpec"]);
  }
  const json rsa_encrypt = kms("GetPublicKey", {{"KeyId", uuid_for(12)}}).json_body;
  EXPECT_EQ(rsa_encrypt["KeyUsage"], "ENCRYPT_DECRYPT");
  EXPECT_TRUE(rsa_encrypt.contains("EncryptionAlgorithms"));
  EXPECT_FALSE(rsa_encrypt.contains("SigningAlgorithms"));
  // The same key gives the same public key every time (the material is kept).
  EXPECT_EQ(kms("GetPublicKey", {{"KeyId", "alias/codesign"}}).json_body["PublicKey"],
            kms("GetPublicKey", {{"KeyId", uuid_for(3)}}).json_body["PublicKey"]);
}

TEST_F(AwsHandlerTest, GetPublicKeyRefusesSymmetricDisabledAndDeletingKeys) {
  Answer answer = kms("GetPublicKey", {{"KeyId", "alias/data"}});
  EXPECT_EQ(answer.error_code(), "UnsupportedOperationException");
  answer = kms("GetPublicKey", {{"KeyId", uuid_for(9)}});
  EXPECT_EQ(answer.error_code(), "UnsupportedOperationException");
  answer = kms("GetPublicKey", {{"KeyId", uuid_for(10)}});
  EXPECT_EQ(answer.error_code(), "DisabledException");
  EXPECT_EQ(answer.error_message(), key_arn("us-east-1", uuid_for(10)) + " is disabled.");
  answer = kms("GetPublicKey", {{"KeyId", uuid_for(11)}});
  EXPECT_EQ(answer.error_code(), "KMSInvalidStateException");
  EXPECT_EQ(answer.error_message(), key_arn("us-east-1", uuid_for(11)) + " is pending deletion.");
  answer = kms("GetPublicKey", {{"KeyId", uuid_for(999)}});
  EXPECT_EQ(answer.error_code(), "NotFoundException");
}

bool verify(EVP_PKEY* key, const std::string& algorithm, const std::string& digest,
            const std::string& signature) {
  std::unique_ptr<EVP_PKEY_CTX, decltype(&EVP_PKEY_CTX_free)> ctx(EVP_PKEY_CTX_new(key, nullptr),
                                                                  &EVP_PKEY_CTX_free);
  EVP_PKEY_verify_init(ctx.get());
  const EVP_MD* md = algorithm.find("256") != std::string::npos   ? EVP_sha256()
                     : algorithm.find("384") != std::string::npos ? EVP_sha384()
                                                                  : EVP_sha512();
  if (algorithm.rfind("RSASSA_PSS", 0) == 0) {
    EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_PKCS1_PSS_PADDING);
    EVP_PKEY_CTX_set_signature_md(ctx.get(), md);
    EVP_PKEY_CTX_set_rsa_pss_saltlen(ctx.get(), RSA_PSS_SALTLEN_DIGEST);
  } else {
    if (algorithm.rfind("RSASSA_PKCS1", 0) == 0) {
      EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_PKCS1_PADDING);
    }
    EVP_PKEY_CTX_set_signature_md(ctx.get(), md);
  }
  return EVP_PKEY_verify(ctx.get(), reinterpret_cast<const unsigned char*>(signature.data()),
                         signature.size(), reinterpret_cast<const unsigned char*>(digest.data()),
                         digest.size()) == 1;
}

std::string digest(const std::string& algorithm, const std::string& message) {
  const EVP_MD* md = algorithm.find("256") != std::string::npos   ? EVP_sha256()
                     : algorithm.find("384") != std::string::npos ? EVP_sha384()
                                                                  : EVP_sha512();
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_Digest(message.data(), message.size(), out, &length, md, nullptr);
  return {reinterpret_cast<const char*>(out), length};
}

TEST_F(AwsHandlerTest, SignaturesVerifyAgainstGetPublicKey) {
  const std::string message = "hsmproof evidence bundle digest";
  struct Case {
    int key;
    std::vector<std::string> algorithms;
  };
  const std::vector<Case> cases = {
      {3,
       {"RSASSA_PKCS1_V1_5_SHA_256", "RSASSA_PKCS1_V1_5_SHA_384", "RSASSA_PKCS1_V1_5_SHA_512",
        "RSASSA_PSS_SHA_256", "RSASSA_PSS_SHA_384", "RSASSA_PSS_SHA_512"}},
      {1, {"RSASSA_PKCS1_V1_5_SHA_256", "RSASSA_PSS_SHA_512"}},
      {4, {"ECDSA_SHA_256"}},
      {5, {"ECDSA_SHA_384"}},
      {6, {"ECDSA_SHA_512"}},
      {7, {"ECDSA_SHA_256"}},
  };
  for (const Case& c : cases) {
    const Pkey public_key =
        parse_public_key(kms("GetPublicKey", {{"KeyId", uuid_for(c.key)}}).json_body["PublicKey"]);
    ASSERT_TRUE(public_key);
    for (const std::string& algorithm : c.algorithms) {
      for (const std::string type : {"RAW", "DIGEST"}) {
        const std::string payload = type == "RAW" ? message : digest(algorithm, message);
        const Answer answer = kms("Sign", {{"KeyId", uuid_for(c.key)},
                                           {"Message", aws_impl::base64_encode(payload)},
                                           {"MessageType", type},
                                           {"SigningAlgorithm", algorithm}});
        ASSERT_EQ(answer.status, 200) << algorithm << " " << answer.body;
        EXPECT_EQ(answer.json_body["KeyId"], key_arn("us-east-1", uuid_for(c.key)));
        EXPECT_EQ(answer.json_body["SigningAlgorithm"], algorithm);
        const std::optional<std::string> signature =
            aws_impl::base64_decode(answer.json_body["Signature"]);
        ASSERT_TRUE(signature.has_value());
        EXPECT_TRUE(verify(public_key.get(), algorithm, digest(algorithm, message), *signature))
            << "key " << c.key << " " << algorithm << " " << type;
        EXPECT_FALSE(
            verify(public_key.get(), algorithm, digest(algorithm, message + "!"), *signature));
        if (algorithm.rfind("ECDSA", 0) == 0) {
          // DER: SEQUENCE { INTEGER r, INTEGER s }.
          EXPECT_EQ(static_cast<unsigned char>((*signature)[0]), 0x30);
        }
      }
    }
  }
}

TEST_F(AwsHandlerTest, SignRefusesWhatKmsRefuses) {
  const std::string message = aws_impl::base64_encode("data");
  Answer answer = kms(
      "Sign",
      {{"KeyId", uuid_for(4)}, {"Message", message}, {"SigningAlgorithm", "RSASSA_PSS_SHA_256"}});
  EXPECT_EQ(answer.error_code(), "InvalidKeyUsageException");
  answer =
      kms("Sign",
          {{"KeyId", uuid_for(5)}, {"Message", message}, {"SigningAlgorithm", "ECDSA_SHA_256"}});
  EXPECT_EQ(answer.error_code(), "InvalidKeyUsageException");
  answer = kms(
      "Sign",
      {{"KeyId", uuid_for(12)}, {"Message", message}, {"SigningAlgorithm", "RSASSA_PSS_SHA_256"}});
  EXPECT_EQ(answer.error_code(), "InvalidKeyUsageException");
  answer = kms(
      "Sign",
      {{"KeyId", "alias/data"}, {"Message", message}, {"SigningAlgorithm", "RSASSA_PSS_SHA_256"}});
  EXPECT_EQ(answer.error_code(), "InvalidKeyUsageException");
  answer = kms(
      "Sign",
      {{"KeyId", uuid_for(10)}, {"Message", message}, {"SigningAlgorithm", "RSASSA_PSS_SHA_256"}});
  EXPECT_EQ(answer.error_code(), "DisabledException");
  answer = kms("Sign", {{"KeyId", uuid_for(3)},
                        {"Message", message},
                        {"MessageType", "DIGEST"},
                        {"SigningAlgorithm", "RSASSA_PSS_SHA_256"}});
  EXPECT_EQ(answer.error_code(), "ValidationException");
  answer =
      kms("Sign",
          {{"KeyId", uuid_for(3)}, {"Message", message}, {"SigningAlgorithm", "RSASSA_PSS_SHA_1"}});
  EXPECT_EQ(answer.error_code(), "ValidationException");
  answer = kms("Sign", {{"KeyId", uuid_for(3)},
                        {"Message", aws_impl::base64_encode(std::string(4097, 'x'))},
                        {"SigningAlgorithm", "RSASSA_PSS_SHA_256"}});
  EXPECT_EQ(answer.error_code(), "ValidationException");
  answer =
      kms("Sign",
          {{"KeyId", uuid_for(3)}, {"Message", "%%%"}, {"SigningAlgorithm", "RSASSA_PSS_SHA_256"}});
  EXPECT_EQ(answer.error_code(), "SerializationException");
  answer = kms("Sign", {{"KeyId", uuid_for(3)},
                        {"Message", message},
                        {"DryRun", true},
                        {"SigningAlgorithm", "RSASSA_PSS_SHA_256"}});
  EXPECT_EQ(answer.error_code(), "DryRunOperationException");
  answer = kms("Sign", {{"KeyId", uuid_for(3)}, {"Message", message}});
  EXPECT_EQ(answer.error_code(), "ValidationException");
}

// ---- CloudTrail ----

std::map<std::string, json> trails_by_name(const Answer& answer) {
  std::map<std::string, json> out;
  for (const json& trail : answer.json_body["trailList"]) out[trail["Name"]] = trail;
  return out;
}

TEST_F(AwsHandlerTest, DescribeTrailsShowsShadowTrailsInEveryEnabledRegion) {
  auto home = trails_by_name(cloudtrail("DescribeTrails", json::object()));
  ASSERT_EQ(home.size(), 1U);
  EXPECT_EQ(home["org-trail"]["HomeRegion"], "us-east-1");
  EXPECT_EQ(home["org-trail"]["TrailARN"],
            std::string("arn:aws:cloudtrail:us-east-1:") + kAccountA + ":trail/org-trail");
  EXPECT_EQ(home["org-trail"]["IsMultiRegionTrail"], true);
  EXPECT_EQ(home["org-trail"]["IsOrganizationTrail"], true);

  for (const std::string region : {"eu-west-1", "af-south-1"}) {
    auto trails =
        trails_by_name(cloudtrail("DescribeTrails", {{"includeShadowTrails", true}}, region));
    ASSERT_EQ(trails.count("org-trail"), 1U) << region;
    EXPECT_EQ(trails["org-trail"]["HomeRegion"], "us-east-1") << "a shadow keeps its home region";
  }
  auto eu = trails_by_name(cloudtrail("DescribeTrails", json::object(), "eu-west-1"));
  EXPECT_EQ(eu.size(), 3U);
  EXPECT_EQ(eu["eu-trail"]["HasCustomEventSelectors"], true);
  auto without_shadows =
      trails_by_name(cloudtrail("DescribeTrails", {{"includeShadowTrails", false}}, "eu-west-1"));
  EXPECT_EQ(without_shadows.size(), 2U);
  EXPECT_EQ(without_shadows.count("org-trail"), 0U);

  // Names find trails homed here; other regions' trails need their ARN.
  auto named = trails_by_name(
      cloudtrail("DescribeTrails", {{"trailNameList", {"eu-trail", "org-trail"}}}, "eu-west-1"));
  EXPECT_EQ(named.size(), 1U);
  EXPECT_EQ(named.count("eu-trail"), 1U);
  named = trails_by_name(cloudtrail(
      "DescribeTrails",
      {{"trailNameList",
        {std::string("arn:aws:cloudtrail:us-east-1:") + kAccountA + ":trail/org-trail"}}},
      "eu-west-1"));
  EXPECT_EQ(named.count("org-trail"), 1U);
}

TEST_F(AwsHandlerTest, GetTrailStatusByNameAndByArn) {
  const std::string org_arn =
      std::string("arn:aws:cloudtrail:us-east-1:") + kAccountA + ":trail/org-trail";
  Answer answer = cloudtrail("GetTrailStatus", {{"Name", "org-trail"}});
  ASSERT_EQ(answer.status, 200) << answer.body;
  EXPECT_EQ(answer.json_body["IsLogging"], true);
  EXPECT_TRUE(answer.json_body["StartLoggingTime"].is_number());
  EXPECT_TRUE(answer.json_body["TimeLoggingStarted"].is_string());
  EXPECT_TRUE(answer.json_body["LatestDeliveryAttemptSucceeded"].is_string());

  answer = cloudtrail("GetTrailStatus", {{"Name", org_arn}}, "eu-west-1");
  ASSERT_EQ(answer.status, 200) << "shadow trails answer by ARN: " << answer.body;
  EXPECT_EQ(answer.json_body["IsLogging"], true);

  answer = cloudtrail("GetTrailStatus", {{"Name", "org-trail"}}, "eu-west-1");
  EXPECT_EQ(answer.error_code(), "TrailNotFoundException");
  EXPECT_TRUE(answer.json_body.contains("Message"));

  answer = cloudtrail("GetTrailStatus", {{"Name", "eu-trail"}}, "eu-west-1");
  EXPECT_EQ(answer.json_body["IsLogging"], false);
  EXPECT_TRUE(answer.json_body["StopLoggingTime"].is_number());
  EXPECT_NE(answer.json_body["TimeLoggingStopped"], "");

  EXPECT_EQ(cloudtrail("GetTrailStatus", {{"Name", "missing"}}).error_code(),
            "TrailNotFoundException");
  EXPECT_EQ(cloudtrail("GetTrailStatus", {{"Name", "arn:aws:cloudtrail:nope"}}).error_code(),
            "CloudTrailARNInvalidException");
  EXPECT_EQ(cloudtrail("GetTrailStatus", {{"Name", "a b"}}).error_code(),
            "InvalidTrailNameException");
}

TEST_F(AwsHandlerTest, GetEventSelectorsDefaultsBasicAndAdvanced) {
  Answer answer = cloudtrail("GetEventSelectors", {{"TrailName", "org-trail"}});
  ASSERT_EQ(answer.status, 200);
  EXPECT_EQ(answer.json_body["TrailARN"],
            std::string("arn:aws:cloudtrail:us-east-1:") + kAccountA + ":trail/org-trail");
  EXPECT_EQ(answer.json_body["EventSelectors"],
            json::parse(R"([{"ReadWriteType":"All","IncludeManagementEvents":true,
                             "DataResources":[],"ExcludeManagementEventSources":[]}])"));
  EXPECT_FALSE(answer.json_body.contains("AdvancedEventSelectors"));

  answer = cloudtrail("GetEventSelectors", {{"TrailName", "eu-trail"}}, "eu-west-1");
  ASSERT_EQ(answer.status, 200);
  EXPECT_FALSE(answer.json_body.contains("EventSelectors"));
  EXPECT_EQ(answer.json_body["AdvancedEventSelectors"][0]["FieldSelectors"][1]["NotEquals"][0],
            "kms.amazonaws.com");

  answer = cloudtrail("GetEventSelectors", {{"TrailName", "write-only"}}, "eu-west-1");
  EXPECT_EQ(answer.json_body["EventSelectors"][0]["ReadWriteType"], "WriteOnly");
  EXPECT_EQ(cloudtrail("GetEventSelectors", {{"TrailName", "nope"}}).error_code(),
            "TrailNotFoundException");
}

TEST_F(AwsHandlerTest, CloudTrailAcceptsBothTargetSpellings) {
  const Answer botocore =
      json_call("cloudtrail", "us-east-1",
                "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.GetTrailStatus",
                {{"Name", "org-trail"}});
  const Answer javascript = json_call(
      "cloudtrail", "us-east-1", "CloudTrail_20131101.GetTrailStatus", {{"Name", "org-trail"}});
  EXPECT_EQ(botocore.status, 200);
  EXPECT_EQ(javascript.status, 200);
  EXPECT_EQ(botocore.json_body, javascript.json_body);
  EXPECT_EQ(json_call("cloudtrail", "us-east-1", "CloudTrail_20131101.LookupEvents", json::object())
                .error_code(),
            "UnknownOperationException");
}

// ---- CloudHSM v2 ----

TEST_F(AwsHandlerTest, DescribeClustersPagesAndFilters) {
  std::vector<json> clusters;
  json input = {{"MaxResults", 1}};
  for (int guard = 0; guard < 10; ++guard) {
    const Answer answer = cloudhsm(input);
    ASSERT_EQ(answer.status, 200) << answer.body;
    for (const json& cluster : answer.json_body["Clusters"]) clusters.push_back(cluster);
    if (!answer.json_body.contains("NextToken")) break;
    input["NextToken"] = answer.json_body["NextToken"];
  }
  ASSERT_EQ(clusters.size(), 3U);
  EXPECT_EQ(clusters[0]["ClusterId"], "cluster-abcdefghijk");
  EXPECT_EQ(clusters[0]["State"], "ACTIVE");
  EXPECT_EQ(clusters[0]["Mode"], "FIPS");
  EXPECT_EQ(clusters[0]["HsmType"], "hsm2m.medium");
  EXPECT_TRUE(clusters[0]["CreateTimestamp"].is_number());
  EXPECT_EQ(clusters[0]["Hsms"][0]["HsmId"], "hsm-abcdefghijk");
  EXPECT_EQ(clusters[0]["Hsms"][0]["State"], "ACTIVE");
  EXPECT_EQ(clusters[0]["Hsms"][0]["AvailabilityZone"], "us-east-1a");
  EXPECT_EQ(clusters[1]["Mode"], "NON_FIPS");

  Answer answer = cloudhsm({{"Filters", {{"states", {"UNINITIALIZED"}}}}});
  ASSERT_EQ(answer.json_body["Clusters"].size(), 1U);
  EXPECT_EQ(answer.json_body["Clusters"][0]["ClusterId"], "cluster-cbcdefghijk");
  answer = cloudhsm({{"Filters", {{"clusterIds", {"cluster-bbcdefghijk"}}}}});
  EXPECT_EQ(answer.json_body["Clusters"].size(), 1U);
  EXPECT_EQ(cloudhsm({{"Filters", {{"color", {"red"}}}}}).error_code(),
            "CloudHsmInvalidRequestException");
  EXPECT_EQ(cloudhsm({{"NextToken", "garbage"}}).error_code(), "CloudHsmInvalidRequestException");
  EXPECT_EQ(cloudhsm({{"MaxResults", 26}}).error_code(), "ValidationException");
  // Clusters are regional.
  EXPECT_EQ(cloudhsm(json::object(), "eu-west-1").json_body["Clusters"].size(), 0U);
}

// ---- STS ----

TEST_F(AwsHandlerTest, GetCallerIdentityNamesTheScenarioAccount) {
  const Answer answer = query("sts", "Action=GetCallerIdentity&Version=2011-06-15");
  ASSERT_EQ(answer.status, 200) << answer.body;
  EXPECT_EQ(answer.content_type, "text/xml");
  EXPECT_EQ(answer.xml("Account"), kAccountA);
  EXPECT_EQ(answer.xml("Arn"), std::string("arn:aws:iam::") + kAccountA + ":user/hsmproof-sandbox");
  EXPECT_EQ(answer.xml("UserId").rfind("AIDA", 0), 0U);
  EXPECT_EQ(answer.xml("RequestId"), answer.request_id);
  EXPECT_NE(answer.body.find("<GetCallerIdentityResult>"), std::string::npos);
  // Regional STS endpoints answer too.
  EXPECT_EQ(query("sts", "Action=GetCallerIdentity&Version=2011-06-15", "eu-west-1").xml("Account"),
            kAccountA);
}

Creds session_credentials(const Answer& answer) {
  return {answer.xml("AccessKeyId"), answer.xml("SecretAccessKey"), answer.xml("SessionToken")};
}

TEST_F(AwsHandlerTest, AssumeRoleIntoAnotherScenarioAccount) {
  const std::string role = std::string("arn:aws:iam::") + kAccountB + ":role/hsmproof-audit";
  const Answer assumed =
      query("sts", "Action=AssumeRole&Version=2011-06-15&RoleArn=" + aws::uri_encode(role, true) +
                       "&RoleSessionName=audit-session&ExternalId=ca-1234&DurationSeconds=900");
  ASSERT_EQ(assumed.status, 200) << assumed.body;
  const Creds session = session_credentials(assumed);
  EXPECT_EQ(session.key.rfind("ASIA", 0), 0U);
  EXPECT_EQ(session.secret.size(), 40U);
  EXPECT_FALSE(session.token.empty());
  EXPECT_EQ(assumed.xml("Arn"), std::string("arn:aws:sts::") + kAccountB +
                                    ":assumed-role/hsmproof-audit/audit-session");
  EXPECT_FALSE(assumed.xml("Expiration").empty());

  const Answer identity =
      query("sts", "Action=GetCallerIdentity&Version=2011-06-15", "us-east-1", session);
  ASSERT_EQ(identity.status, 200) << identity.body;
  EXPECT_EQ(identity.xml("Account"), kAccountB);
  EXPECT_EQ(identity.xml("Arn"), assumed.xml("Arn"));

  // The session sees account B's keys, and account A's organization trail as a shadow.
  const Answer keys = kms("ListKeys", json::object(), "us-east-1", session);
  ASSERT_EQ(keys.json_body["Keys"].size(), 1U);
  EXPECT_EQ(keys.json_body["Keys"][0]["KeyArn"], key_arn("us-east-1", uuid_for(500), kAccountB));
  auto trails = trails_by_name(cloudtrail("DescribeTrails", json::object(), "eu-west-1", session));
  EXPECT_EQ(trails.count("org-trail"), 1U);

  // Without its token, or with another, the temporary key is no key at all.
  EXPECT_EQ(
      kms("ListKeys", json::object(), "us-east-1", {session.key, session.secret, ""}).error_code(),
      "UnrecognizedClientException");
  EXPECT_EQ(kms("ListKeys", json::object(), "us-east-1",
                {session.key, session.secret, session.token + "x"})
                .error_code(),
            "UnrecognizedClientException");
  // A long-term key with a session token is refused as well.
  EXPECT_EQ(
      kms("ListKeys", json::object(), "us-east-1", {kKeyA, kSecretA, session.token}).error_code(),
      "UnrecognizedClientException");
  EXPECT_EQ(kms("ListKeys", json::object(), "us-east-1",
                {session.key, "wrong-secret-wrong-secret-wrong-secret-00", session.token})
                .error_code(),
            "InvalidSignatureException");
}

TEST_F(AwsHandlerTest, SessionsBelongToTheSandboxThatIssuedThem) {
  const std::string role = std::string("arn:aws:iam::") + kAccountB + ":role/hsmproof-audit";
  const Answer assumed =
      query("sts", "Action=AssumeRole&Version=2011-06-15&RoleArn=" + aws::uri_encode(role, true) +
                       "&RoleSessionName=s1");
  const Creds session = session_credentials(assumed);
  SandboxContext other(test_scenario(), std::string("http://") + kHost);
  const auto answer = handle_aws(
      to_sandbox(signed_request("kms", "us-east-1", "{}", "TrentService.ListKeys", session)),
      other);
  ASSERT_TRUE(answer.has_value());
  EXPECT_EQ(json::parse(answer->body)["__type"], "UnrecognizedClientException");
  EXPECT_EQ(kms("ListKeys", json::object(), "us-east-1", session).status, 200);
}

TEST_F(AwsHandlerTest, AssumeRoleRefusals) {
  Answer answer = query("sts", "Action=AssumeRole&Version=2011-06-15&RoleArn=" +
                                   aws::uri_encode("arn:aws:iam::999999999999:role/x", true) +
                                   "&RoleSessionName=s1");
  EXPECT_EQ(answer.status, 403);
  EXPECT_EQ(answer.error_code(), "AccessDenied");
  answer =
      query("sts", "Action=AssumeRole&Version=2011-06-15&RoleArn=" +
                       aws::uri_encode(std::string("arn:aws:iam::") + kAccountB + ":role/x", true));
  EXPECT_EQ(answer.error_code(), "ValidationError");
  answer =
      query("sts", "Action=AssumeRole&Version=2011-06-15&RoleArn=" +
                       aws::uri_encode(std::string("arn:aws:iam::") + kAccountB + ":role/x", true) +
                       "&RoleSessionName=s1&DurationSeconds=60");
  EXPECT_EQ(answer.error_code(), "ValidationError");
  answer = query(
      "sts",
      "Action=AssumeRole&Version=2011-06-15&RoleArn=not-an-arn-but-long-enough&RoleSessionName=s1");
  EXPECT_EQ(answer.error_code(), "ValidationError");
}

TEST_F(AwsHandlerTest, AssumeRoleWithWebIdentityAcceptsTokensTheSandboxIssued) {
  const std::string role = std::string("arn:aws:iam::") + kAccountA + ":role/ci";
  const auto web_identity = [&](const std::string& token) {
    SandboxRequest request;
    request.method = "POST";
    request.path = request.target = "/";
    request.headers.add("Content-Type", "application/x-www-form-urlencoded");
    request.body = "Action=AssumeRoleWithWebIdentity&Version=2011-06-15&RoleArn=" +
                   aws::uri_encode(role, true) +
                   "&RoleSessionName=ci-run&WebIdentityToken=" + aws::uri_encode(token, true);
    return send(request);
  };
  Answer answer = web_identity("forged-token-value");
  EXPECT_EQ(answer.status, 400);
  EXPECT_EQ(answer.error_code(), "InvalidIdentityToken");

  const std::string token = context_.issue_token("sts.amazonaws.com", "ci-pipeline");
  answer = web_identity(token);
  ASSERT_EQ(answer.status, 200) << answer.body;
  EXPECT_EQ(answer.xml("Audience"), "sts.amazonaws.com");
  const Creds session = session_credentials(answer);
  const Answer identity =
      query("sts", "Action=GetCallerIdentity&Version=2011-06-15", "us-east-1", session);
  EXPECT_EQ(identity.xml("Arn"),
            std::string("arn:aws:sts::") + kAccountA + ":assumed-role/ci/ci-run");
}

// ---- EC2 ----

TEST_F(AwsHandlerTest, DescribeRegionsListsEnabledRegionsWithOptInStatus) {
  Answer answer = query("ec2", "Action=DescribeRegions&Version=2016-11-15");
  ASSERT_EQ(answer.status, 200) << answer.body;
  EXPECT_EQ(answer.xml("requestId"), answer.request_id);
  EXPECT_EQ(answer.xml_all("regionName"),
            (std::vector<std::string>{"af-south-1", "eu-west-1", "us-east-1"}));
  EXPECT_EQ(answer.xml_all("optInStatus"),
            (std::vector<std::string>{"opted-in", "opt-in-not-required", "opt-in-not-required"}));
  EXPECT_EQ(answer.xml_all("regionEndpoint")[1], "ec2.eu-west-1.amazonaws.com");

  answer = query("ec2", "Action=DescribeRegions&Version=2016-11-15&AllRegions=true");
  EXPECT_EQ(answer.xml_all("regionName"),
            (std::vector<std::string>{"af-south-1", "ap-east-1", "eu-west-1", "us-east-1"}));
  EXPECT_EQ(answer.xml_all("optInStatus")[1], "not-opted-in");

  answer = query("ec2", "Action=DescribeRegions&Version=2016-11-15&RegionName.1=eu-west-1");
  EXPECT_EQ(answer.xml_all("regionName"), (std::vector<std::string>{"eu-west-1"}));
  answer = query("ec2",
                 "Action=DescribeRegions&Version=2016-11-15&Filter.1.Name=opt-in-status&Filter.1."
                 "Value.1=opted-in");
  EXPECT_EQ(answer.xml_all("regionName"), (std::vector<std::string>{"af-south-1"}));
  answer = query("ec2", "Action=DescribeRegions&Version=2016-11-15&RegionName.1=mars-north-1");
  EXPECT_EQ(answer.error_code(), "InvalidParameterValue");
  EXPECT_EQ(answer.xml("RequestID"), answer.request_id);
}

// ---- Organizations ----

TEST_F(AwsHandlerTest, ListAccountsPagesThroughEveryScenarioAccount) {
  std::vector<std::string> ids;
  json input = {{"MaxResults", 1}};
  for (int guard = 0; guard < 10; ++guard) {
    const Answer answer =
        json_call("organizations", "us-east-1", "AWSOrganizationsV20161128.ListAccounts", input);
    ASSERT_EQ(answer.status, 200) << answer.body;
    for (const json& account : answer.json_body["Accounts"]) {
      ids.push_back(account["Id"]);
      EXPECT_EQ(account["Status"], "ACTIVE");
      EXPECT_TRUE(account["JoinedTimestamp"].is_number());
    }
    if (!answer.json_body.contains("NextToken")) break;
    input["NextToken"] = answer.json_body["NextToken"];
  }
  EXPECT_EQ(ids, (std::vector<std::string>{kAccountA, kAccountB}));

  Answer answer = json_call("organizations", "us-east-1", "AWSOrganizationsV20161128.ListAccounts",
                            json::object(), kCredsB);
  EXPECT_EQ(answer.error_code(), "AccessDeniedException");
  answer = json_call("organizations", "eu-west-1", "AWSOrganizationsV20161128.ListAccounts",
                     json::object());
  EXPECT_EQ(answer.error_code(), "InvalidSignatureException");
  answer = json_call("organizations", "us-east-1", "AWSOrganizationsV20161128.ListAccounts",
                     {{"MaxResults", 21}});
  EXPECT_EQ(answer.error_code(), "InvalidInputException");
}

// ---- helpers ----

TEST(AwsSandboxEncoding, Base64RoundTripsAndRejectsGarbage) {
  for (const std::string text : {"", "f", "fo", "foo", "foob", "fooba", "foobar"}) {
    const std::string encoded = aws_impl::base64_encode(text);
    EXPECT_EQ(aws_impl::base64_decode(encoded), text) << encoded;
  }
  EXPECT_EQ(aws_impl::base64_encode("foobar"), "Zm9vYmFy");
  EXPECT_EQ(aws_impl::base64_encode("fo"), "Zm8=");
  EXPECT_FALSE(aws_impl::base64_decode("Zm9").has_value());
  EXPECT_FALSE(aws_impl::base64_decode("Zm=v").has_value());
  EXPECT_FALSE(aws_impl::base64_decode("Zm9v!A==").has_value());
}

}  // namespace
}  // namespace hsmproof::sandbox
