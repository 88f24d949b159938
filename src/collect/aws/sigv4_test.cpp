#include "collect/aws/sigv4.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "collect/aws/endpoints.h"

namespace hsmproof::aws {
namespace {

namespace fs = std::filesystem;

const fs::path kSuiteDir = fs::path(HSMPROOF_SHARED_DIR) / "reference/sigv4/aws-c-auth-v4";
const fs::path kBotocoreFile =
    fs::path(HSMPROOF_SHARED_DIR) / "reference/sigv4/botocore-generated/signed-requests.json";
constexpr std::size_t kSuiteCaseCount = 38;
constexpr const char* kExampleSecret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";

std::string read_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream content;
  content << in.rdbuf();
  return content.str();
}

TimePoint parse_time(const std::string& text) {
  TimePoint t{};
  EXPECT_TRUE(parse_iso8601(text, t)) << text;
  return t;
}

std::string lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text;
}

// The suite's request.txt: "METHOD target HTTP/1.1", header lines (a line starting with
// whitespace folds into the previous value), a blank line, the body. The target may contain
// spaces and raw UTF-8 ("GET /example space/ HTTP/1.1"), so it is everything between the first
// and the last space.
http::Request parse_suite_request(const std::string& text) {
  http::Request request;
  std::size_t pos = text.find('\n');
  const std::string request_line = text.substr(0, pos);
  const std::size_t first_space = request_line.find(' ');
  const std::size_t last_space = request_line.rfind(' ');
  request.method = request_line.substr(0, first_space);
  const std::string target = request_line.substr(first_space + 1, last_space - first_space - 1);
  pos = pos == std::string::npos ? text.size() : pos + 1;
  while (pos < text.size()) {
    std::size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    const std::string line = text.substr(pos, end - pos);
    pos = end + 1;
    if (line.empty()) {
      if (pos < text.size()) request.body = text.substr(pos);
      break;
    }
    if ((line.front() == ' ' || line.front() == '\t') && !request.headers.entries.empty()) {
      request.headers.entries.back().second += "\n" + line;
      continue;
    }
    const std::size_t colon = line.find(':');
    request.headers.entries.emplace_back(line.substr(0, colon), line.substr(colon + 1));
  }
  request.url = "https://" + request.headers.get("Host") + target;
  return request;
}

std::vector<std::pair<std::string, std::string>> normalized_headers(const http::Headers& headers) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& [name, value] : headers.entries) out.emplace_back(lower(name), value);
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<std::string> suite_case_names() {
  std::vector<std::string> names;
  std::error_code error;
  for (const auto& entry : fs::directory_iterator(kSuiteDir, error)) {
    if (entry.is_directory() && fs::exists(entry.path() / "context.json")) {
      names.push_back(entry.path().filename().string());
    }
  }
  std::sort(names.begin(), names.end());
  return names;
}

TEST(AwsSigningSuiteInventory, FindsEveryCase) {
  EXPECT_GE(suite_case_names().size(), kSuiteCaseCount) << "suite folder: " << kSuiteDir;
}

class AwsSigningSuite : public ::testing::TestWithParam<std::string> {};

TEST_P(AwsSigningSuite, HeaderSigningMatchesReference) {
  const fs::path dir = kSuiteDir / GetParam();
  const nlohmann::json context = nlohmann::json::parse(read_text(dir / "context.json"));
  http::Request request = parse_suite_request(read_text(dir / "request.txt"));

  Credentials credentials;
  credentials.access_key_id = context["credentials"]["access_key_id"].get<std::string>();
  credentials.secret_access_key = context["credentials"]["secret_access_key"].get<std::string>();
  credentials.session_token = context["credentials"].value("token", "");
  SigningParams params;
  params.region = context["region"].get<std::string>();
  params.service = context["service"].get<std::string>();
  params.time = parse_time(context["timestamp"].get<std::string>());
  params.normalize_path = context.value("normalize", true);
  params.add_content_sha256_header = context.value("sign_body", false);
  params.sign_session_token = !context.value("omit_session_token", false);

  SigningDebug debug;
  sign_request(request, credentials, params, &debug);

  EXPECT_EQ(debug.canonical_request, read_text(dir / "header-canonical-request.txt"));
  EXPECT_EQ(debug.string_to_sign, read_text(dir / "header-string-to-sign.txt"));
  std::string expected_signature = read_text(dir / "header-signature.txt");
  expected_signature.erase(expected_signature.find_last_not_of(" \r\n") + 1);
  EXPECT_EQ(debug.signature, expected_signature);

  // The request as sent: same headers and values as the suite's signed request.
  const http::Request expected = parse_suite_request(read_text(dir / "header-signed-request.txt"));
  EXPECT_EQ(request.headers.get("Authorization"), expected.headers.get("Authorization"));
  EXPECT_EQ(normalized_headers(request.headers), normalized_headers(expected.headers));
  EXPECT_EQ(request.body, expected.body);
}

INSTANTIATE_TEST_SUITE_P(AwsCAuthV4, AwsSigningSuite, ::testing::ValuesIn(suite_case_names()),
                         [](const ::testing::TestParamInfo<std::string>& param_info) {
                           std::string name = param_info.param;
                           std::replace(name.begin(), name.end(), '-', '_');
                           return name;
                         });

// ---------------------------------------------------------------------------------------------
// botocore-generated requests to the real services.

nlohmann::json botocore_cases() {
  std::ifstream in(kBotocoreFile);
  if (!in) return nlohmann::json::array();
  return nlohmann::json::parse(in)["cases"];
}

std::vector<int> botocore_case_indexes() {
  std::vector<int> indexes(botocore_cases().size());
  for (std::size_t i = 0; i < indexes.size(); ++i) indexes[i] = static_cast<int>(i);
  return indexes;
}

std::vector<std::string> split_lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

TEST(BotocoreVectorsInventory, HasThirteenRequests) {
  EXPECT_EQ(botocore_cases().size(), 13U) << kBotocoreFile;
}

class BotocoreVectors : public ::testing::TestWithParam<int> {};

TEST_P(BotocoreVectors, SignatureMatchesBotocore) {
  const nlohmann::json test_case = botocore_cases()[static_cast<std::size_t>(GetParam())];
  const nlohmann::json& sent = test_case["request"];
  // Scope "20150830/<region>/<service>/aws4_request" names the signing service.
  const std::vector<std::string> sts_lines =
      split_lines(test_case["string_to_sign"].get<std::string>());
  ASSERT_EQ(sts_lines.size(), 4U);
  const std::string& scope = sts_lines[2];
  const std::string service =
      scope.substr(scope.find('/', 9) + 1, scope.rfind('/') - scope.find('/', 9) - 1);

  http::Request request;
  request.method = sent["method"].get<std::string>();
  request.url = sent["url"].get<std::string>();
  request.body = sent["body"].get<std::string>();
  Credentials credentials{"AKIDEXAMPLE", kExampleSecret, "", std::nullopt, "test"};
  for (const auto& [name, value] : sent["headers"].items()) {
    const std::string lower_name = lower(name);
    // Set by the signer; Content-Length is added by botocore's HTTP layer after signing.
    if (lower_name == "authorization" || lower_name == "x-amz-date" ||
        lower_name == "content-length") {
      continue;
    }
    if (lower_name == "x-amz-security-token") {
      credentials.session_token = value.get<std::string>();
      continue;
    }
    // User-Agent and amz-sdk-* stay in: the signer must leave them out by itself.
    request.headers.add(name, value.get<std::string>());
  }
  SigningParams params;
  params.region = test_case["region"].get<std::string>();
  params.service = service;
  params.time = parse_time("2015-08-30T12:36:00Z");
  SigningDebug debug;
  sign_request(request, credentials, params, &debug);

  EXPECT_EQ(debug.canonical_request, test_case["canonical_request"].get<std::string>());
  EXPECT_EQ(debug.string_to_sign, test_case["string_to_sign"].get<std::string>());
  EXPECT_EQ(debug.signature, test_case["signature"].get<std::string>());
  EXPECT_EQ(request.headers.get("Authorization"),
            sent["headers"]["Authorization"].get<std::string>());
  EXPECT_EQ(request.headers.get("X-Amz-Date"), sent["headers"]["X-Amz-Date"].get<std::string>());
}

INSTANTIATE_TEST_SUITE_P(Botocore, BotocoreVectors, ::testing::ValuesIn(botocore_case_indexes()),
                         [](const ::testing::TestParamInfo<int>& param_info) {
                           const nlohmann::json c =
                               botocore_cases()[static_cast<std::size_t>(param_info.param)];
                           return c["service"].get<std::string>() + "_" +
                                  c["operation"].get<std::string>();
                         });

// The endpoint table agrees with what botocore actually sent: host, signing name and target.
TEST(BotocoreVectorsInventory, EndpointTableMatchesBotocore) {
  const std::vector<std::pair<std::string, Service>> known = {
      {"kms", Service::kKms},
      {"cloudtrail", Service::kCloudTrail},
      {"cloudhsmv2", Service::kCloudHsmV2},
      {"sts", Service::kSts},
      {"ec2", Service::kEc2},
      {"organizations", Service::kOrganizations}};
  int checked = 0;
  for (const nlohmann::json& c : botocore_cases()) {
    const auto it = std::find_if(known.begin(), known.end(), [&](const auto& entry) {
      return entry.first == c["service"].get<std::string>();
    });
    if (it == known.end()) continue;  // account: not a service hsmproof calls through this table
    const ServiceInfo& info = service_info(it->second);
    const std::string authorization = c["request"]["headers"]["Authorization"].get<std::string>();
    EXPECT_NE(authorization.find("/" + std::string(info.signing_name) + "/aws4_request"),
              std::string::npos)
        << authorization;
    const nlohmann::json& headers = c["request"]["headers"];
    if (headers.contains("X-Amz-Target")) {
      EXPECT_EQ(headers["X-Amz-Target"].get<std::string>().rfind(
                    std::string(info.json_target_prefix) + ".", 0),
                0U);
    } else {
      EXPECT_STREQ(info.json_target_prefix, "");
    }
    FakeEnvironment env;
    Result<std::string> endpoint =
        resolve_endpoint(env, it->second, c["region"].get<std::string>());
    ASSERT_TRUE(endpoint.ok());
    EXPECT_EQ(endpoint.value() + "/", c["request"]["url"].get<std::string>());
    ++checked;
  }
  EXPECT_EQ(checked, 12);
}

// ---------------------------------------------------------------------------------------------
// Building blocks.

TEST(Sigv4Primitives, Sha256AndHmacKnownAnswers) {
  EXPECT_EQ(sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  // RFC 4231, test case 2.
  EXPECT_EQ(hex(hmac_sha256("Jefe", "what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  EXPECT_EQ(hex(std::string("\x00\xff\x10", 3)), "00ff10");
}

TEST(Sigv4Primitives, SigningKeyMatchesAwsDocumentationExample) {
  EXPECT_EQ(hex(signing_key(kExampleSecret, "20150830", "us-east-1", "iam")),
            "c4afb1cc5771d871763a393e44b703571b55cc28424d1a5e86da6ed3c154a4b9");
}

TEST(Sigv4Primitives, UriEncodeKeepsOnlyUnreservedCharacters) {
  EXPECT_EQ(uri_encode("AZaz09-_.~", true), "AZaz09-_.~");
  EXPECT_EQ(uri_encode("a b+c=d&e", true), "a%20b%2Bc%3Dd%26e");
  EXPECT_EQ(uri_encode("/a/b", false), "/a/b");
  EXPECT_EQ(uri_encode("/a/b", true), "%2Fa%2Fb");
  EXPECT_EQ(uri_encode("\xe1\x88\xb4", true), "%E1%88%B4");
  EXPECT_EQ(uri_encode("%", true), "%25");
}

TEST(Sigv4Primitives, HostHeaderKeepsNonDefaultPort) {
  EXPECT_EQ(host_header_for_url("https://kms.eu-west-1.amazonaws.com/"),
            "kms.eu-west-1.amazonaws.com");
  EXPECT_EQ(host_header_for_url("https://kms.eu-west-1.amazonaws.com:443/"),
            "kms.eu-west-1.amazonaws.com");
  EXPECT_EQ(host_header_for_url("http://127.0.0.1:4566"), "127.0.0.1:4566");
  EXPECT_EQ(host_header_for_url("http://127.0.0.1:80/x"), "127.0.0.1");
  EXPECT_EQ(host_header_for_url("https://127.0.0.1:80/x"), "127.0.0.1:80");
  EXPECT_EQ(host_header_for_url("http://[::1]:4566/"), "[::1]:4566");
  EXPECT_EQ(host_header_for_url("http://[::1]/"), "[::1]");
  EXPECT_EQ(host_header_for_url("https://user:pw@example.com:8443?x=1"), "example.com:8443");
}

SigningParams example_params() {
  SigningParams params;
  params.region = "us-east-1";
  params.service = "kms";
  params.time = parse_time("2015-08-30T12:36:00Z");
  return params;
}

TEST(Sigv4Signing, AddsHostWithPortWhenAbsentAndSignsIt) {
  http::Request request;
  request.method = "POST";
  request.url = "http://127.0.0.1:4566/";
  request.body = "{}";
  SigningDebug debug;
  sign_request(request, {"AKID", "secret", "", std::nullopt, "t"}, example_params(), &debug);
  EXPECT_EQ(request.headers.get("Host"), "127.0.0.1:4566");
  EXPECT_NE(debug.canonical_request.find("\nhost:127.0.0.1:4566\n"), std::string::npos);
  EXPECT_NE(request.headers.get("Authorization").find("SignedHeaders=host;x-amz-date,"),
            std::string::npos);
}

TEST(Sigv4Signing, KeepsAnExplicitHostHeader) {
  http::Request request;
  request.url = "http://127.0.0.1:4566/";
  request.headers.add("Host", "kms.us-east-1.amazonaws.com");
  sign_request(request, {"AKID", "secret", "", std::nullopt, "t"}, example_params());
  EXPECT_EQ(request.headers.get("Host"), "kms.us-east-1.amazonaws.com");
  EXPECT_EQ(std::count_if(request.headers.entries.begin(), request.headers.entries.end(),
                          [](const auto& e) { return lower(e.first) == "host"; }),
            1);
}

TEST(Sigv4Signing, ResigningReplacesPreviousSignatureValues) {
  http::Request request;
  request.method = "POST";
  request.url = "https://kms.us-east-1.amazonaws.com/";
  const Credentials credentials{"AKID", "secret", "token-1", std::nullopt, "t"};
  sign_request(request, credentials, example_params());
  const std::string first = request.headers.get("Authorization");
  SigningParams later = example_params();
  later.time += std::chrono::seconds(5);
  sign_request(request, {"AKID", "secret", "token-2", std::nullopt, "t"}, later);
  for (const char* name : {"authorization", "x-amz-date", "x-amz-security-token", "host"}) {
    EXPECT_EQ(std::count_if(request.headers.entries.begin(), request.headers.entries.end(),
                            [&](const auto& e) { return lower(e.first) == name; }),
              1)
        << name;
  }
  EXPECT_NE(request.headers.get("Authorization"), first);
  EXPECT_EQ(request.headers.get("X-Amz-Security-Token"), "token-2");
  EXPECT_EQ(request.headers.get("X-Amz-Date"), "20150830T123605Z");
}

TEST(Sigv4Signing, SessionTokenSignedUnlessAskedOtherwise) {
  const Credentials credentials{"AKID", "secret", "the-token", std::nullopt, "t"};
  http::Request signed_token;
  signed_token.url = "https://sts.us-east-1.amazonaws.com/";
  sign_request(signed_token, credentials, example_params());
  EXPECT_NE(signed_token.headers.get("Authorization").find("x-amz-security-token"),
            std::string::npos);

  http::Request unsigned_token;
  unsigned_token.url = signed_token.url;
  SigningParams params = example_params();
  params.sign_session_token = false;
  sign_request(unsigned_token, credentials, params);
  EXPECT_EQ(unsigned_token.headers.get("X-Amz-Security-Token"), "the-token");
  EXPECT_EQ(unsigned_token.headers.get("Authorization").find("x-amz-security-token"),
            std::string::npos);
}

TEST(Sigv4Signing, LeavesSdkAndProxyHeadersUnsigned) {
  http::Request request;
  request.url = "https://kms.us-east-1.amazonaws.com/";
  request.headers.add("User-Agent", "hsmproof/0.1");
  request.headers.add("amz-sdk-invocation-id", "x");
  request.headers.add("Expect", "100-continue");
  request.headers.add("X-Amz-Target", "TrentService.ListKeys");
  EXPECT_EQ(signed_header_names(request), "x-amz-target");
}

TEST(Sigv4Signing, PathIsEncodedAgainAsNonS3ServicesExpect) {
  http::Request request;
  request.method = "GET";
  request.url = "https://example.amazonaws.com/a%20b/c";
  EXPECT_EQ(canonical_request(request, "", "-"), "GET\n/a%2520b/c\n\n\n\n-");
}

TEST(Sigv4Signing, NormalizationIsOptional) {
  http::Request request;
  request.method = "GET";
  request.url = "https://example.amazonaws.com/a/./b/../c//";
  EXPECT_EQ(canonical_request(request, "", "-", true), "GET\n/a/c/\n\n\n\n-");
  EXPECT_EQ(canonical_request(request, "", "-", false), "GET\n/a/./b/../c//\n\n\n\n-");
  request.url = "https://example.amazonaws.com";
  EXPECT_EQ(canonical_request(request, "", "-", true), "GET\n/\n\n\n\n-");
}

TEST(Sigv4Signing, QueryIsDecodedReEncodedAndSorted) {
  http::Request request;
  request.method = "GET";
  request.url =
      "https://example.amazonaws.com/?b=2&a=y&a=x&flag&sp=a%20b&plus=a+b&&k%2Dey=%7e#frag";
  EXPECT_EQ(canonical_request(request, "", "-"),
            "GET\n/\na=x&a=y&b=2&flag=&k-ey=~&plus=a%2Bb&sp=a%20b\n\n\n-");
}

TEST(Sigv4Signing, HeaderValuesTrimmedAndRepeatsJoined) {
  http::Request request;
  request.method = "GET";
  request.url = "https://example.amazonaws.com/";
  request.headers.add("X-B", "  two   words \t ");
  request.headers.add("x-a", "1");
  request.headers.add("X-A", " 2 ");
  EXPECT_EQ(canonical_request(request, signed_header_names(request), "-"),
            "GET\n/\n\nx-a:1,2\nx-b:two words\n\nx-a;x-b\n-");
}

}  // namespace
}  // namespace hsmproof::aws
