#include "collect/aws/aws_client.h"

#include <gtest/gtest.h>

#include <deque>
#include <fstream>
#include <sstream>

#include "collect/aws/sigv4.h"

namespace hsmproof::aws {
namespace {

constexpr const char* kAccessKey = "AKIDEXAMPLE";
constexpr const char* kSecret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
constexpr const char* kSessionToken = "AQoDYXdzEPT//////////wEXAMPLE";

// Answers from a script (the last answer repeats) and keeps every request it was sent.
class ScriptedAws final : public http::Transport {
 public:
  std::vector<http::Request> requests;
  std::deque<Result<http::Response>> answers;

  Result<http::Response> send(const http::Request& request) override {
    requests.push_back(request);
    if (answers.empty()) return Error{ErrorKind::kInternal, "no scripted answer"};
    Result<http::Response> next = answers.front();
    if (answers.size() > 1) answers.pop_front();
    return next;
  }
};

class FixedCredentials final : public CredentialProvider {
 public:
  explicit FixedCredentials(Result<Credentials> result) : result_(std::move(result)) {}
  Result<Credentials> get() override {
    ++calls;
    return result_;
  }
  [[nodiscard]] std::string describe() const override { return "test credentials"; }
  int calls = 0;

 private:
  Result<Credentials> result_;
};

Credentials example_credentials(bool with_token = false) {
  Credentials credentials;
  credentials.access_key_id = kAccessKey;
  credentials.secret_access_key = kSecret;
  if (with_token) credentials.session_token = kSessionToken;
  credentials.source = "test";
  return credentials;
}

http::Response answer(int status, std::string body, http::Headers headers = {}) {
  http::Response response;
  response.status = status;
  response.body = std::move(body);
  response.headers = std::move(headers);
  return response;
}

http::Headers headers_of(std::initializer_list<std::pair<std::string, std::string>> entries) {
  http::Headers headers;
  for (const auto& [name, value] : entries) headers.add(name, value);
  return headers;
}

TimePoint example_time() {
  TimePoint t{};
  EXPECT_TRUE(parse_iso8601("2015-08-30T12:36:00Z", t));
  return t;
}

class AwsClientTest : public ::testing::Test {
 protected:
  AwsClientTest()
      : clock_(example_time()),
        credentials_(std::make_shared<FixedCredentials>(example_credentials())),
        client_(std::make_unique<AwsClient>(env_, transport_, clock_, credentials_)) {}

  void use_credentials(Result<Credentials> result) {
    credentials_ = std::make_shared<FixedCredentials>(std::move(result));
    client_ = std::make_unique<AwsClient>(env_, transport_, clock_, credentials_);
  }
  AwsClient& client() { return *client_; }

  FakeEnvironment env_;
  ScriptedAws transport_;
  FixedClock clock_;
  std::shared_ptr<FixedCredentials> credentials_;
  std::unique_ptr<AwsClient> client_;
};

// --- Request construction ---------------------------------------------------------------------

TEST_F(AwsClientTest, JsonCallSetsTargetContentTypeAndSignature) {
  transport_.answers = {answer(200, R"({"Keys":[{"KeyId":"k1"}],"Truncated":false})",
                               headers_of({{"x-amzn-RequestId", "r-1"}}))};
  auto result = client().call_json(Service::kKms, "eu-west-1", "ListKeys", {{"Limit", 2}});
  ASSERT_TRUE(result.ok()) << result.error().describe();
  EXPECT_EQ((*result)["Keys"][0]["KeyId"], "k1");

  ASSERT_EQ(transport_.requests.size(), 1U);
  const http::Request& sent = transport_.requests[0];
  EXPECT_EQ(sent.method, "POST");
  EXPECT_EQ(sent.url, "https://kms.eu-west-1.amazonaws.com/");
  EXPECT_EQ(sent.operation, "kms:ListKeys");
  EXPECT_EQ(sent.headers.get("Content-Type"), "application/x-amz-json-1.1");
  EXPECT_EQ(sent.headers.get("X-Amz-Target"), "TrentService.ListKeys");
  EXPECT_EQ(sent.headers.get("X-Amz-Date"), "20150830T123600Z");
  EXPECT_EQ(nlohmann::json::parse(sent.body), (nlohmann::json{{"Limit", 2}}));
  const std::string authorization = sent.headers.get("Authorization");
  EXPECT_EQ(authorization.rfind("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/eu-west-1/kms/"
                                "aws4_request, SignedHeaders=content-type;host;x-amz-date;"
                                "x-amz-target, Signature=",
                                0),
            0U)
      << authorization;
  EXPECT_EQ(client().requests_sent(), 1U);
}

TEST_F(AwsClientTest, EmptyInputIsSentAsAnEmptyObject) {
  transport_.answers = {answer(200, "{}")};
  ASSERT_TRUE(client().call_json(Service::kKms, "us-east-1", "ListKeys", nlohmann::json()).ok());
  ASSERT_TRUE(
      client().call_json(Service::kKms, "us-east-1", "ListKeys", nlohmann::json::object()).ok());
  ASSERT_EQ(transport_.requests.size(), 2U);
  EXPECT_EQ(transport_.requests[0].body, "{}");
  EXPECT_EQ(transport_.requests[1].body, "{}");
}

TEST_F(AwsClientTest, EveryServiceNamesItsOperationAndTarget) {
  transport_.answers = {answer(200, "{}")};
  struct Case {
    Service service;
    const char* operation;
    const char* label;
    const char* target;
    const char* scope;
  };
  const Case cases[] = {
      {Service::kKms, "DescribeKey", "kms:DescribeKey", "TrentService.DescribeKey",
       "/20150830/eu-west-1/kms/aws4_request"},
      {Service::kCloudTrail, "DescribeTrails", "cloudtrail:DescribeTrails",
       "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.DescribeTrails",
       "/20150830/eu-west-1/cloudtrail/aws4_request"},
      {Service::kCloudHsmV2, "DescribeClusters", "cloudhsmv2:DescribeClusters",
       "BaldrApiService.DescribeClusters", "/20150830/eu-west-1/cloudhsm/aws4_request"},
      // Organizations is global: its one endpoint signs as us-east-1 whatever region asked.
      {Service::kOrganizations, "ListAccounts", "organizations:ListAccounts",
       "AWSOrganizationsV20161128.ListAccounts", "/20150830/us-east-1/organizations/aws4_request"},
  };
  for (const Case& c : cases) {
    transport_.requests.clear();
    ASSERT_TRUE(client().call_json(c.service, "eu-west-1", c.operation, {}).ok()) << c.label;
    ASSERT_EQ(transport_.requests.size(), 1U);
    const http::Request& sent = transport_.requests[0];
    EXPECT_EQ(sent.operation, c.label);
    EXPECT_EQ(sent.headers.get("X-Amz-Target"), c.target);
    EXPECT_NE(sent.headers.get("Authorization").find(c.scope), std::string::npos)
        << sent.headers.get("Authorization");
  }
}

TEST_F(AwsClientTest, SessionTokenTravelsInItsSignedHeader) {
  use_credentials(example_credentials(/*with_token=*/true));
  transport_.answers = {answer(200, "{}")};
  ASSERT_TRUE(client().call_json(Service::kKms, "us-east-1", "ListKeys", {}).ok());
  const http::Request& sent = transport_.requests.at(0);
  EXPECT_EQ(sent.headers.get("X-Amz-Security-Token"), kSessionToken);
  EXPECT_NE(sent.headers.get("Authorization").find("x-amz-security-token"), std::string::npos);
}

// The exact bytes botocore signs, where our request bodies are byte-identical to its own.
nlohmann::json botocore_case(const std::string& service, const std::string& operation) {
  std::ifstream in(std::string(HSMPROOF_SHARED_DIR) +
                   "/reference/sigv4/botocore-generated/signed-requests.json");
  EXPECT_TRUE(in.good()) << "reference vectors missing";
  if (!in.good()) return {};
  const auto vectors = nlohmann::json::parse(in);
  for (const auto& c : vectors.at("cases")) {
    if (c.at("service") == service && c.at("operation") == operation) return c;
  }
  ADD_FAILURE() << "no botocore case " << service << " " << operation;
  return {};
}

TEST_F(AwsClientTest, CloudHsmV2RequestMatchesBotocoreAndSignsAsCloudhsm) {
  const auto expected = botocore_case("cloudhsmv2", "describe_clusters");
  ASSERT_FALSE(expected.is_null());
  transport_.answers = {answer(200, R"({"Clusters":[]})")};
  ASSERT_TRUE(client().call_json(Service::kCloudHsmV2, "us-east-1", "DescribeClusters", {}).ok());
  const http::Request& sent = transport_.requests.at(0);
  const auto& request = expected.at("request");
  EXPECT_EQ(sent.url, request.at("url"));
  EXPECT_EQ(sent.body, request.at("body"));
  EXPECT_EQ(sent.headers.get("X-Amz-Target"), request.at("headers").at("X-Amz-Target"));
  EXPECT_EQ(sent.headers.get("Authorization"), request.at("headers").at("Authorization"));
}

TEST_F(AwsClientTest, QueryRequestsMatchBotocoreBytes) {
  struct Case {
    Service service;
    const char* service_name;
    const char* botocore_operation;
    const char* operation;
    const char* version;
    std::vector<std::pair<std::string, std::string>> params;
  };
  const std::vector<Case> cases = {
      {Service::kSts, "sts", "get_caller_identity", "GetCallerIdentity", "2011-06-15", {}},
      {Service::kSts,
       "sts",
       "assume_role",
       "AssumeRole",
       "2011-06-15",
       {{"RoleArn", "arn:aws:iam::123456789012:role/audit"},
        {"RoleSessionName", "s1"},
        {"DurationSeconds", "900"}}},
      {Service::kEc2,
       "ec2",
       "describe_regions",
       "DescribeRegions",
       "2016-11-15",
       {{"AllRegions", "true"}}},
  };
  transport_.answers = {answer(200, "<Answer/>")};
  for (const Case& c : cases) {
    const auto expected = botocore_case(c.service_name, c.botocore_operation);
    ASSERT_FALSE(expected.is_null());
    transport_.requests.clear();
    auto result = client().call_query(c.service, "us-east-1", c.operation, c.version, c.params);
    ASSERT_TRUE(result.ok()) << result.error().describe();
    const http::Request& sent = transport_.requests.at(0);
    const auto& request = expected.at("request");
    EXPECT_EQ(sent.operation, std::string(c.service_name) + ":" + c.operation);
    EXPECT_EQ(sent.method, "POST");
    EXPECT_EQ(sent.url, request.at("url"));
    EXPECT_EQ(sent.body, request.at("body"));
    EXPECT_EQ(sent.headers.get("Content-Type"), "application/x-www-form-urlencoded; charset=utf-8");
    EXPECT_EQ(sent.headers.find("X-Amz-Target"), nullptr);
    EXPECT_EQ(sent.headers.get("Authorization"), request.at("headers").at("Authorization"))
        << c.operation;
  }
}

TEST_F(AwsClientTest, QueryParametersArePercentEncodedPerRfc3986) {
  transport_.answers = {answer(200, "<R/>")};
  ASSERT_TRUE(client()
                  .call_query(Service::kEc2, "us-east-1", "DescribeRegions", "2016-11-15",
                              {{"Filter.1.Name", "region-name"},
                               {"Filter.1.Value.1", "a b+c/d~e_f.g-h=i&j\xC3\xA9"}})
                  .ok());
  EXPECT_EQ(transport_.requests.at(0).body,
            "Action=DescribeRegions&Version=2016-11-15&Filter.1.Name=region-name"
            "&Filter.1.Value.1=a%20b%2Bc%2Fd~e_f.g-h%3Di%26j%C3%A9");
}

TEST_F(AwsClientTest, QueryAnswerIsParsedXml) {
  transport_.answers = {answer(200, R"(<?xml version="1.0" encoding="UTF-8"?>
<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <GetCallerIdentityResult>
    <Arn>arn:aws:iam::123456789012:user/Alice</Arn>
    <UserId>AIDAEXAMPLE</UserId>
    <Account>123456789012</Account>
  </GetCallerIdentityResult>
  <ResponseMetadata><RequestId>01234567-89ab</RequestId></ResponseMetadata>
</GetCallerIdentityResponse>)")};
  auto result =
      client().call_query(Service::kSts, "us-east-1", "GetCallerIdentity", "2011-06-15", {});
  ASSERT_TRUE(result.ok()) << result.error().describe();
  EXPECT_EQ(result->name, "GetCallerIdentityResponse");
  EXPECT_EQ(result->text_at("GetCallerIdentityResult/Account"), "123456789012");
  EXPECT_EQ(result->text_at("GetCallerIdentityResult/Arn"), "arn:aws:iam::123456789012:user/Alice");
}

// --- Error handling -----------------------------------------------------------------------------

TEST_F(AwsClientTest, ErrorAnswerBecomesAnErrorWithFullContext) {
  transport_.answers = {answer(
      400,
      R"({"__type":"AccessDeniedException","message":"User: arn:aws:iam::1:user/a is not authorized to perform: kms:DescribeKey"})",
      headers_of({{"x-amzn-RequestId", "req-42"}}))};
  auto result = client().call_json(Service::kKms, "eu-west-1", "DescribeKey", {{"KeyId", "k"}});
  ASSERT_FALSE(result.ok());
  const Error& error = result.error();
  EXPECT_EQ(error.kind, ErrorKind::kHttp);
  EXPECT_EQ(error.operation, "kms:DescribeKey");
  EXPECT_EQ(error.region, "eu-west-1");
  EXPECT_EQ(error.http_status, 400);
  EXPECT_EQ(error.provider_code, "AccessDeniedException");
  EXPECT_EQ(error.request_id, "req-42");
  EXPECT_EQ(error.describe(),
            "kms:DescribeKey in eu-west-1: AccessDeniedException (HTTP 400, request id req-42): "
            "User: arn:aws:iam::1:user/a is not authorized to perform: kms:DescribeKey");
}

TEST_F(AwsClientTest, QueryErrorAnswerBecomesAnError) {
  transport_.answers = {answer(
      403,
      R"(<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type><Code>InvalidClientTokenId</Code><Message>The security token included in the request is invalid.</Message></Error><RequestId>sts-req-1</RequestId></ErrorResponse>)")};
  auto result =
      client().call_query(Service::kSts, "us-east-1", "GetCallerIdentity", "2011-06-15", {});
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().kind, ErrorKind::kHttp);
  EXPECT_EQ(result.error().operation, "sts:GetCallerIdentity");
  EXPECT_EQ(result.error().region, "us-east-1");
  EXPECT_EQ(result.error().provider_code, "InvalidClientTokenId");
  EXPECT_EQ(result.error().request_id, "sts-req-1");
  EXPECT_TRUE(is_credential_rejection_code(result.error().provider_code));
}

TEST_F(AwsClientTest, MalformedOrTruncatedJsonIsMalformed) {
  for (const char* body : {R"({"Keys":[{"KeyId":"k1"},{"KeyId":)", "", "<html>oops</html>", "null",
                           "[1,2]", R"({"a":1} trailing)"}) {
    transport_.answers = {answer(200, body, headers_of({{"x-amzn-RequestId", "r-9"}}))};
    auto result = client().call_json(Service::kKms, "ap-south-1", "ListKeys", {});
    ASSERT_FALSE(result.ok()) << body;
    EXPECT_EQ(result.error().kind, ErrorKind::kMalformed) << body;
    EXPECT_EQ(result.error().operation, "kms:ListKeys");
    EXPECT_EQ(result.error().region, "ap-south-1");
    EXPECT_EQ(result.error().request_id, "r-9");
    EXPECT_NE(result.error().describe().find("kms:ListKeys in ap-south-1"), std::string::npos);
  }
}

TEST_F(AwsClientTest, MalformedXmlIsMalformed) {
  for (const char* body : {"<DescribeRegionsResponse><regionInfo><item>", "", "not xml"}) {
    transport_.answers = {answer(200, body)};
    auto result =
        client().call_query(Service::kEc2, "us-west-2", "DescribeRegions", "2016-11-15", {});
    ASSERT_FALSE(result.ok()) << body;
    EXPECT_EQ(result.error().kind, ErrorKind::kMalformed) << body;
    EXPECT_EQ(result.error().operation, "ec2:DescribeRegions");
    EXPECT_EQ(result.error().region, "us-west-2");
  }
}

TEST_F(AwsClientTest, TransportErrorsKeepTheirKindAndGainTheRegion) {
  Error refused{ErrorKind::kTransport,
                "request to kms.eu-west-1.amazonaws.com failed: could not connect"};
  refused.operation = "kms:ListKeys";
  transport_.answers = {refused};
  auto result = client().call_json(Service::kKms, "eu-west-1", "ListKeys", {});
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().kind, ErrorKind::kTransport);
  EXPECT_EQ(result.error().operation, "kms:ListKeys");
  EXPECT_EQ(result.error().region, "eu-west-1");
}

TEST_F(AwsClientTest, UnavailableCredentialsAreReturnedAndNothingIsSent) {
  Error missing{ErrorKind::kCredentials, "no credentials: tried environment, profile 'default'"};
  use_credentials(missing);
  auto json_result = client().call_json(Service::kKms, "eu-west-1", "ListKeys", {});
  ASSERT_FALSE(json_result.ok());
  EXPECT_EQ(json_result.error().kind, ErrorKind::kCredentials);
  EXPECT_EQ(json_result.error().message, missing.message);
  auto query_result =
      client().call_query(Service::kSts, "us-east-1", "GetCallerIdentity", "2011-06-15", {});
  ASSERT_FALSE(query_result.ok());
  EXPECT_EQ(query_result.error().kind, ErrorKind::kCredentials);
  EXPECT_TRUE(transport_.requests.empty());
  EXPECT_EQ(client().requests_sent(), 0U);
}

TEST_F(AwsClientTest, RefusedEndpointIsAUsageErrorAndNothingIsSent) {
  env_.variables["AWS_ENDPOINT_URL_KMS"] = "http://kms.example.com";
  auto result = client().call_json(Service::kKms, "eu-west-1", "ListKeys", {});
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().kind, ErrorKind::kUsage);
  EXPECT_EQ(result.error().operation, "kms:ListKeys");
  EXPECT_TRUE(transport_.requests.empty());
}

TEST_F(AwsClientTest, SecretsNeverAppearInErrors) {
  use_credentials(example_credentials(/*with_token=*/true));
  // An echoing server: our own secret, token and Authorization come back in the error.
  transport_.answers = {answer(400, "placeholder")};
  ASSERT_FALSE(client().call_json(Service::kKms, "us-east-1", "ListKeys", {}).ok());
  const std::string authorization = transport_.requests.at(0).headers.get("Authorization");
  ASSERT_FALSE(authorization.empty());
  const std::string echoed =
      std::string("secret ") + kSecret + " token " + kSessionToken + " auth " + authorization;

  const std::vector<http::Response> echoes = {
      answer(400, nlohmann::json{{"__type", "ValidationException"}, {"message", echoed}}.dump()),
      answer(400, "<ErrorResponse><Error><Code>Bad</Code><Message>" + echoed +
                      "</Message></Error></ErrorResponse>"),
      answer(502, "garbage " + echoed),
      answer(400, nlohmann::json{{"__type", echoed}}.dump(),
             headers_of({{"x-amzn-RequestId", echoed}})),
  };
  for (const http::Response& echo : echoes) {
    transport_.answers = {echo};
    auto result = client().call_json(Service::kKms, "us-east-1", "ListKeys", {});
    ASSERT_FALSE(result.ok());
    const std::string text = result.error().describe();
    EXPECT_EQ(text.find(kSecret), std::string::npos) << text;
    EXPECT_EQ(text.find(kSessionToken), std::string::npos) << text;
    EXPECT_EQ(text.find("Signature="), std::string::npos) << text;
  }
  // A malformed success body is never quoted at all (it may be a credentials answer).
  transport_.answers = {answer(200, std::string(R"({"SecretAccessKey":")") + kSecret)};
  auto malformed = client().call_json(Service::kKms, "us-east-1", "ListKeys", {});
  ASSERT_FALSE(malformed.ok());
  EXPECT_EQ(malformed.error().describe().find(kSecret), std::string::npos);
}

TEST_F(AwsClientTest, ThrottledAttemptsAreRetriedAndCounted) {
  http::RetryingTransport retrying(transport_, aws_retry_policy(),
                                   [](std::chrono::milliseconds) {});
  AwsClient client(env_, retrying, clock_, credentials_);
  transport_.answers = {
      answer(400, R"({"__type":"ThrottlingException","message":"Rate exceeded"})"),
      answer(400, R"({"__type":"ThrottlingException","message":"Rate exceeded"})"),
      answer(200, R"({"Keys":[]})")};
  auto result = client.call_json(Service::kKms, "us-east-1", "ListKeys", {});
  ASSERT_TRUE(result.ok()) << result.error().describe();
  EXPECT_EQ(transport_.requests.size(), 3U);
  EXPECT_EQ(client.requests_sent(), 3U);
  // Each attempt is the same signed request.
  EXPECT_EQ(transport_.requests[0].headers.get("Authorization"),
            transport_.requests[2].headers.get("Authorization"));

  transport_.answers = {answer(400, R"({"__type":"AccessDeniedException","message":"no"})")};
  ASSERT_FALSE(client.call_json(Service::kKms, "us-east-1", "ListKeys", {}).ok());
  EXPECT_EQ(client.requests_sent(), 4U) << "a denial is not retried";

  transport_.answers = {
      answer(400, R"({"__type":"ThrottlingException","message":"Rate exceeded"})")};
  auto exhausted = client.call_json(Service::kKms, "us-east-1", "ListKeys", {});
  ASSERT_FALSE(exhausted.ok());
  EXPECT_EQ(exhausted.error().provider_code, "ThrottlingException");
  EXPECT_EQ(client.requests_sent(), 9U) << "five attempts, then the throttle is the answer";
}

// --- parse_aws_error: every shape of the wire-format notes --------------------------------------

TEST(ParseAwsError, JsonTypeAndMessage) {
  const Error error = parse_aws_error(
      answer(
          400,
          R"({"__type":"NotFoundException","message":"Key 'arn:aws:kms:us-east-1:1:key/x' does not exist"})",
          headers_of({{"x-amzn-RequestId", "abc-123"}})),
      "kms:DescribeKey", "us-east-1");
  EXPECT_EQ(error.kind, ErrorKind::kHttp);
  EXPECT_EQ(error.provider_code, "NotFoundException");
  EXPECT_EQ(error.message, "Key 'arn:aws:kms:us-east-1:1:key/x' does not exist");
  EXPECT_EQ(error.request_id, "abc-123");
  EXPECT_EQ(error.http_status, 400);
  EXPECT_EQ(error.operation, "kms:DescribeKey");
  EXPECT_EQ(error.region, "us-east-1");
}

TEST(ParseAwsError, JsonCodeIsCutAtColonAndAfterHash) {
  EXPECT_EQ(
      parse_aws_error(
          answer(400,
                 R"({"__type":"com.amazonaws.kms#KMSInternalException","Message":"internal"})"),
          "", "")
          .provider_code,
      "KMSInternalException");
  const Error with_uri = parse_aws_error(
      answer(
          400,
          R"({"__type":"aws.protocoltests.restjson#FooError:http://internal.amazon.com/coral/com.amazon.coral.validate/","Message":"capital M"})"),
      "", "");
  EXPECT_EQ(with_uri.provider_code, "FooError");
  EXPECT_EQ(with_uri.message, "capital M");
}

TEST(ParseAwsError, HeaderCodeWinsThenBodyCodeThenType) {
  EXPECT_EQ(
      parse_aws_error(
          answer(400, R"({"__type":"FromType","code":"FromCode"})",
                 headers_of({{"X-Amzn-Errortype", "FromHeader:http://internal.amazon.com/"}})),
          "", "")
          .provider_code,
      "FromHeader");
  EXPECT_EQ(parse_aws_error(answer(400, R"({"__type":"FromType","code":"FromCode"})"), "", "")
                .provider_code,
            "FromCode");
  EXPECT_EQ(parse_aws_error(answer(400, R"({"__type":"FromType"})",
                                   headers_of({{"x-amzn-errortype", "aws#Lower"}})),
                            "", "")
                .provider_code,
            "Lower");
}

TEST(ParseAwsError, StsQueryError) {
  const Error error = parse_aws_error(
      answer(403, R"(<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <Error>
    <Type>Sender</Type>
    <Code>AccessDenied</Code>
    <Message>User: arn:aws:iam::123456789012:user/a is not authorized to perform: sts:AssumeRole</Message>
  </Error>
  <RequestId>c6104cbe-af31-11e0-8154-cbc7ccf896c7</RequestId>
</ErrorResponse>)"),
      "sts:AssumeRole", "us-east-1");
  EXPECT_EQ(error.provider_code, "AccessDenied");
  EXPECT_EQ(error.message,
            "User: arn:aws:iam::123456789012:user/a is not authorized to perform: sts:AssumeRole");
  EXPECT_EQ(error.request_id, "c6104cbe-af31-11e0-8154-cbc7ccf896c7");
  EXPECT_EQ(error.http_status, 403);
}

TEST(ParseAwsError, Ec2Error) {
  const Error error = parse_aws_error(answer(503, R"(<?xml version="1.0" encoding="UTF-8"?>
<Response><Errors><Error><Code>RequestLimitExceeded</Code><Message>Request limit exceeded.</Message></Error></Errors><RequestID>ea966190-f9aa-478e-9ede-example</RequestID></Response>)"),
                                      "ec2:DescribeRegions", "us-east-1");
  EXPECT_EQ(error.provider_code, "RequestLimitExceeded");
  EXPECT_EQ(error.message, "Request limit exceeded.");
  EXPECT_EQ(error.request_id, "ea966190-f9aa-478e-9ede-example");
}

TEST(ParseAwsError, MotoErrorResponseForms) {
  // moto's generic XML error, also sent for JSON services when a signature is refused.
  const Error signature =
      parse_aws_error(answer(403, R"(<?xml version="1.0" encoding="utf-8"?>
<ErrorResponse><Errors><Error><Code>SignatureDoesNotMatch</Code><Message>The request signature we calculated does not match the signature you provided.</Message><Type>Sender</Type></Error></Errors></ErrorResponse>)",
                             headers_of({{"X-Amzn-ErrorType", "SignatureDoesNotMatch"},
                                         {"x-amz-request-id", "moto-req"}})),
                      "kms:ListKeys", "us-east-1");
  EXPECT_EQ(signature.provider_code, "SignatureDoesNotMatch");
  EXPECT_EQ(signature.message,
            "The request signature we calculated does not match the signature you provided.");
  EXPECT_EQ(signature.request_id, "moto-req");
  EXPECT_TRUE(is_credential_rejection_code(signature.provider_code));

  // moto's JSON services: __type and message, with X-Amzn-ErrorType.
  const Error json = parse_aws_error(
      answer(
          400,
          R"({"__type": "InvalidClientTokenId", "message": "The security token included in the request is invalid."})"),
      "", "");
  EXPECT_EQ(json.provider_code, "InvalidClientTokenId");

  // An S3-style error at the root.
  const Error root = parse_aws_error(answer(400,
                                            "<Error><Code>AuthFailure</Code><Message>denied</"
                                            "Message><RequestId>r</RequestId></Error>"),
                                     "", "");
  EXPECT_EQ(root.provider_code, "AuthFailure");
  EXPECT_EQ(root.request_id, "r");
}

TEST(ParseAwsError, UnparseableBodyKeepsStatusAndAShortPrintableExcerpt) {
  std::string html = "<html>\r\n<body>\n\t<h1>502 Bad Gateway</h1>\x01\x02\xff";
  html += std::string(1000, 'z') + "</body></html>";
  const Error error = parse_aws_error(answer(502, html), "kms:ListKeys", "eu-west-1");
  EXPECT_EQ(error.kind, ErrorKind::kHttp);
  EXPECT_EQ(error.http_status, 502);
  EXPECT_EQ(error.provider_code, "");
  EXPECT_NE(error.message.find("<html> <body> <h1>502 Bad Gateway</h1>"), std::string::npos)
      << error.message;
  const std::string prefix = "unrecognised error answer: ";
  ASSERT_EQ(error.message.rfind(prefix, 0), 0U) << error.message;
  EXPECT_LE(error.message.size() - prefix.size(), 200U);
  for (const char c : error.message) {
    EXPECT_TRUE(c >= 0x20 && c < 0x7f) << static_cast<int>(static_cast<unsigned char>(c));
  }

  const Error not_json = parse_aws_error(answer(500, "{\"__type\": \"Trunc"), "", "");
  EXPECT_EQ(not_json.http_status, 500);
  EXPECT_NE(not_json.message.find("{\"__type\": \"Trunc"), std::string::npos);

  const Error empty = parse_aws_error(answer(503, ""), "", "");
  EXPECT_EQ(empty.http_status, 503);
  EXPECT_EQ(empty.message, "error answer with an empty body");
}

TEST(ParseAwsError, MultiLineMessagesBecomeOneLine) {
  const Error error = parse_aws_error(
      answer(400, R"({"__type":"ValidationException","message":"line one\nline two\r\n"})"), "",
      "");
  EXPECT_EQ(error.message, "line one line two");
}

// --- Codes and retry policy ---------------------------------------------------------------------

TEST(AwsErrorCodes, ThrottlingCodes) {
  for (const char* code :
       {"Throttling", "ThrottlingException", "ThrottledException", "RequestThrottledException",
        "TooManyRequestsException", "ProvisionedThroughputExceededException",
        "TransactionInProgressException", "RequestLimitExceeded", "BandwidthLimitExceeded",
        "LimitExceededException", "RequestThrottled", "SlowDown", "PriorRequestNotComplete",
        "EC2ThrottledException"}) {
    EXPECT_TRUE(is_throttling_code(code)) << code;
    EXPECT_FALSE(is_credential_rejection_code(code)) << code;
  }
  for (const char* code : {"", "throttling", "AccessDeniedException", "ThrottlingExceptionX"}) {
    EXPECT_FALSE(is_throttling_code(code)) << code;
  }
}

TEST(AwsErrorCodes, CredentialRejectionCodes) {
  for (const char* code :
       {"UnrecognizedClientException", "InvalidClientTokenId", "SignatureDoesNotMatch",
        "InvalidSignatureException", "IncompleteSignatureException",
        "MissingAuthenticationTokenException", "ExpiredTokenException", "ExpiredToken",
        "AuthFailure", "InvalidAccessKeyId"}) {
    EXPECT_TRUE(is_credential_rejection_code(code)) << code;
    EXPECT_FALSE(is_throttling_code(code)) << code;
  }
  for (const char* code : {"", "AccessDenied", "AccessDeniedException", "RequestExpired"}) {
    EXPECT_FALSE(is_credential_rejection_code(code)) << code;
  }
}

TEST(AwsRetryPolicy, RetriesThrottlesAndServerErrorsOnly) {
  const http::RetryPolicy policy = aws_retry_policy();
  EXPECT_EQ(policy.max_attempts, 5);
  EXPECT_EQ(policy.base_delay, std::chrono::milliseconds{100});
  EXPECT_EQ(policy.max_delay, std::chrono::milliseconds{5000});
  ASSERT_TRUE(policy.classify_response);
  ASSERT_TRUE(policy.classify_error);

  auto decide = [&](int status, const std::string& body) {
    return policy.classify_response(answer(status, body));
  };
  using http::RetryDecision;
  EXPECT_EQ(decide(400, R"({"__type":"ThrottlingException","message":"Rate exceeded"})"),
            RetryDecision::kRetry);
  EXPECT_EQ(decide(400, R"({"__type":"TooManyRequestsException"})"), RetryDecision::kRetry);
  EXPECT_EQ(decide(400,
                   "<ErrorResponse><Error><Type>Sender</Type><Code>Throttling</Code>"
                   "<Message>Rate exceeded</Message></Error></ErrorResponse>"),
            RetryDecision::kRetry);
  EXPECT_EQ(decide(503,
                   "<Response><Errors><Error><Code>RequestLimitExceeded</Code></Error>"
                   "</Errors></Response>"),
            RetryDecision::kRetry);
  for (int status : {429, 500, 502, 503, 504}) {
    EXPECT_EQ(decide(status, ""), RetryDecision::kRetry) << status;
  }
  EXPECT_EQ(decide(400, R"({"__type":"AccessDeniedException"})"), RetryDecision::kDone);
  EXPECT_EQ(decide(400, R"({"__type":"UnrecognizedClientException"})"), RetryDecision::kDone);
  EXPECT_EQ(decide(404, "not found"), RetryDecision::kDone);
  EXPECT_EQ(decide(501, ""), RetryDecision::kDone);
  EXPECT_EQ(decide(200, R"({"__type":"ThrottlingException"})"), RetryDecision::kDone);

  EXPECT_EQ(policy.classify_error(Error{ErrorKind::kTransport, "reset"}), RetryDecision::kRetry);
  EXPECT_EQ(policy.classify_error(Error{ErrorKind::kMalformed, "too big"}), RetryDecision::kDone);
}

// --- XML
// ------------------------------------------------------------------------------------------

TEST(ParseXml, StripsPrefixesAndConcatenatesText) {
  auto document = parse_xml(R"(<?xml version="1.0"?>
<ns:Envelope xmlns:ns="urn:a" xmlns="urn:b">
  <ns:Body><Item id="1">fish &amp; <![CDATA[<chips>]]> &#233;</Item><Item>second</Item></ns:Body>
  <Other><Item>deep</Item></Other>
</ns:Envelope>)");
  ASSERT_TRUE(document.ok()) << document.error().message;
  EXPECT_EQ(document->name, "Envelope");
  EXPECT_EQ(document->text, "") << "layout whitespace between children is dropped";
  const XmlElement* body = document->child("Body");
  ASSERT_NE(body, nullptr);
  ASSERT_EQ(body->children.size(), 2U);
  EXPECT_EQ(body->children[0].text, "fish & <chips> \xC3\xA9");
  EXPECT_EQ(document->text_at("Body/Item"), "fish & <chips> \xC3\xA9");
  EXPECT_EQ(document->text_at("Other/Item"), "deep");
  EXPECT_EQ(document->text_at("Body/Missing"), "");
  EXPECT_EQ(document->child("Item"), nullptr) << "child looks one level down only";
  const XmlElement* first_item = document->find_descendant("Item");
  ASSERT_NE(first_item, nullptr);
  EXPECT_EQ(first_item->text, "fish & <chips> \xC3\xA9");
  EXPECT_EQ(document->find_descendant("Envelope"), nullptr) << "a node is not its own descendant";
}

TEST(ParseXml, TextAtBacktracksToTheFirstMatchingPath) {
  auto document = parse_xml("<R><A><X>no</X></A><A><B>yes</B></A></R>");
  ASSERT_TRUE(document.ok());
  EXPECT_EQ(document->text_at("A/B"), "yes");
  EXPECT_EQ(document->text_at("A/X"), "no");
}

TEST(ParseXml, RefusesMalformedDocuments) {
  const std::string nested_too_deep = [] {
    std::string text;
    for (int i = 0; i < 300; ++i) text += "<a>";
    for (int i = 0; i < 300; ++i) text += "</a>";
    return text;
  }();
  for (const std::string& text :
       {std::string("<a><b></a>"), std::string(""), std::string("<a>"), std::string("plain"),
        std::string("<a></a><b></b>"),
        std::string("<!DOCTYPE a [<!ENTITY x \"xx\"><!ENTITY y \"&x;&x;\">]><a>&y;</a>"),
        nested_too_deep}) {
    auto document = parse_xml(text);
    ASSERT_FALSE(document.ok()) << text.substr(0, 60);
    EXPECT_EQ(document.error().kind, ErrorKind::kMalformed);
    EXPECT_FALSE(document.error().message.empty());
  }
}

}  // namespace
}  // namespace hsmproof::aws
