// The server over real sockets, read with the scanner's own curl transport: TLS with the
// generated CA, plain HTTP, the catch-all routing, and faults as a client sees them.
#include <gtest/gtest.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <thread>

#include "http/transport.h"
#include "sandbox/sandbox.h"

namespace hsmproof::sandbox {
namespace {

using nlohmann::json;

Scenario small_scenario() {
  auto parsed = parse_scenario(R"({
    "name": "server-test",
    "aws": {"accounts": [{"account_id": "111122223333",
                          "access_key_id": "AKIAIOSFODNN7SANDBOX",
                          "secret_access_key": "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",
                          "enabled_regions": ["eu-west-1"]}]},
    "azure": {"tenant_id": "3c1d2f4e-8a6b-4c7d-9e0f-1a2b3c4d5e6f", "subscriptions": []}
  })",
                               "server-test.json");
  EXPECT_TRUE(parsed.ok()) << parsed.error().message;
  return parsed.value();
}

std::unique_ptr<Sandbox> start(Scenario scenario, bool plain_http = false) {
  SandboxOptions options;
  options.plain_http = plain_http;
  auto started = Sandbox::start(std::move(scenario), options);
  EXPECT_TRUE(started.ok()) << started.error().message;
  return started.ok() ? std::move(started).value() : nullptr;
}

std::unique_ptr<http::Transport> transport_for(const Sandbox& sandbox) {
  http::TransportOptions options;
  options.ca_bundle_path = sandbox.ca_bundle_path();
  options.total_timeout = std::chrono::milliseconds(10000);
  return http::make_curl_transport(options);
}

http::Request get(const std::string& url) {
  http::Request request;
  request.url = url;
  return request;
}

// A request the sandbox classifies as KMS (the signature itself is not valid; faults act first).
http::Request kms_request(const Sandbox& sandbox, const std::string& region,
                          const std::string& operation) {
  http::Request request;
  request.method = "POST";
  request.url = sandbox.base_url() + "/";
  request.headers.set("Content-Type", "application/x-amz-json-1.1");
  request.headers.set("X-Amz-Target", "TrentService." + operation);
  request.headers.set("Authorization",
                      "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7SANDBOX/20240101/" + region +
                          "/kms/aws4_request, SignedHeaders=host, "
                          "Signature=00");
  request.body = "{}";
  return request;
}

TEST(SandboxServer, HttpsWithItsOwnCaAnswersUnknownPathsWith404Json) {
  auto sandbox = start(small_scenario());
  ASSERT_TRUE(sandbox);
  EXPECT_EQ(sandbox->base_url().rfind("https://127.0.0.1:", 0), 0U) << sandbox->base_url();
  ASSERT_TRUE(std::filesystem::exists(sandbox->ca_bundle_path()));

  auto transport = transport_for(*sandbox);
  const auto response = transport->send(get(sandbox->base_url() + "/no/such%20thing?x=1"));
  ASSERT_TRUE(response.ok()) << response.error().describe();
  EXPECT_EQ(response.value().status, 404);
  EXPECT_EQ(response.value().headers.get("Content-Type"), "application/json; charset=utf-8");
  const json body = json::parse(response.value().body);
  EXPECT_EQ(body["error"]["code"], "NotFound");
  // The path reaches the handlers decoded.
  EXPECT_NE(body["error"]["message"].get<std::string>().find("GET /no/such thing"),
            std::string::npos);
  EXPECT_EQ(response.value().headers.find("Content-Encoding"), nullptr);
  EXPECT_GE(sandbox->requests_served(), 1U);

  // localhost is in the certificate too.
  const std::string port = sandbox->base_url().substr(sandbox->base_url().rfind(':') + 1);
  const auto by_name = transport->send(get("https://localhost:" + port + "/x"));
  ASSERT_TRUE(by_name.ok()) << by_name.error().describe();
  EXPECT_EQ(by_name.value().status, 404);
}

TEST(SandboxServer, CertificateIsRefusedWithoutTheCa) {
  auto sandbox = start(small_scenario());
  ASSERT_TRUE(sandbox);
  http::TransportOptions options;  // the system store: it does not know the sandbox's CA
  const auto response = http::make_curl_transport(options)->send(get(sandbox->base_url() + "/"));
  ASSERT_FALSE(response.ok());
  EXPECT_EQ(response.error().kind, ErrorKind::kTransport);
  EXPECT_NE(response.error().message.find("TLS"), std::string::npos) << response.error().message;
}

TEST(SandboxServer, CaFileIsASelfSignedCaNamedForTheSandbox) {
  auto sandbox = start(small_scenario());
  ASSERT_TRUE(sandbox);
  FILE* file = std::fopen(sandbox->ca_bundle_path().c_str(), "r");
  ASSERT_NE(file, nullptr);
  X509* ca = PEM_read_X509(file, nullptr, nullptr, nullptr);
  std::fclose(file);
  ASSERT_NE(ca, nullptr);
  char name[256] = {};
  X509_NAME_get_text_by_NID(X509_get_subject_name(ca), NID_commonName, name, sizeof(name));
  EXPECT_STREQ(name, "hsmproof sandbox CA");
  EXPECT_EQ(X509_check_ca(ca), 1);
  EXPECT_EQ(X509_check_issued(ca, ca), X509_V_OK);
  X509_free(ca);
}

TEST(SandboxServer, StateDirIsRemovedWhenTheSandboxEnds) {
  std::string ca;
  {
    auto sandbox = start(small_scenario());
    ASSERT_TRUE(sandbox);
    ca = sandbox->ca_bundle_path();
    ASSERT_TRUE(std::filesystem::exists(ca));
  }
  EXPECT_FALSE(std::filesystem::exists(ca));
}

TEST(SandboxServer, PlainHttpMode) {
  auto sandbox = start(small_scenario(), /*plain_http=*/true);
  ASSERT_TRUE(sandbox);
  EXPECT_EQ(sandbox->base_url().rfind("http://127.0.0.1:", 0), 0U);
  EXPECT_EQ(sandbox->ca_bundle_path(), "");
  const auto response = http::make_curl_transport({})->send(get(sandbox->base_url() + "/x"));
  ASSERT_TRUE(response.ok()) << response.error().describe();
  EXPECT_EQ(response.value().status, 404);
  std::set<std::string> names;
  for (const auto& [name, value] : sandbox->client_environment()) names.insert(name);
  EXPECT_FALSE(names.count("AWS_CA_BUNDLE"));
  EXPECT_FALSE(names.count("SSL_CERT_FILE"));
}

TEST(SandboxServer, ClientEnvironmentInOrder) {
  auto sandbox = start(small_scenario());
  ASSERT_TRUE(sandbox);
  const auto variables = sandbox->client_environment();
  std::vector<std::string> names;
  for (const auto& [name, value] : variables) names.push_back(name);
  EXPECT_EQ(names,
            (std::vector<std::string>{
                "AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_REGION",
                "AWS_CA_BUNDLE", "AZURE_TENANT_ID", "AZURE_CLIENT_ID", "AZURE_CLIENT_SECRET",
                "AZURE_AUTHORITY_HOST", "AZURE_RESOURCE_MANAGER_ENDPOINT", "SSL_CERT_FILE"}));
  EXPECT_EQ(variables[0].second, sandbox->base_url());
  EXPECT_EQ(variables[1].second, "AKIAIOSFODNN7SANDBOX");
  EXPECT_EQ(variables[3].second, "eu-west-1");  // the account's only enabled region
  EXPECT_EQ(variables[4].second, sandbox->ca_bundle_path());
  EXPECT_EQ(variables[5].second, "3c1d2f4e-8a6b-4c7d-9e0f-1a2b3c4d5e6f");
  EXPECT_EQ(variables[8].second, sandbox->base_url());
}

TEST(SandboxServer, PortInUseIsAUsageError) {
  auto first = start(small_scenario());
  ASSERT_TRUE(first);
  SandboxOptions options;
  options.port = std::stoi(first->base_url().substr(first->base_url().rfind(':') + 1));
  const auto second = Sandbox::start(small_scenario(), options);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.error().kind, ErrorKind::kUsage);
  EXPECT_NE(second.error().message.find("cannot listen on 127.0.0.1:"), std::string::npos);
}

TEST(SandboxServer, StopIsPromptWithIdleKeepAliveConnections) {
  auto sandbox = start(small_scenario());
  ASSERT_TRUE(sandbox);
  auto transport = transport_for(*sandbox);  // keeps its connection open after the request
  ASSERT_TRUE(transport->send(get(sandbox->base_url() + "/x")).ok());
  const auto before = std::chrono::steady_clock::now();
  sandbox->stop();
  EXPECT_LT(std::chrono::steady_clock::now() - before, std::chrono::milliseconds(2000));
}

// ---- faults as a client sees them ----

Scenario with_faults(std::vector<FaultSpec> faults) {
  Scenario scenario = small_scenario();
  scenario.faults = std::move(faults);
  return scenario;
}

TEST(SandboxFaults, TruncatedBodyIsATransportErrorForTheClient) {
  FaultSpec truncate;
  truncate.kind = "truncate";
  for (const bool plain_http : {false, true}) {
    auto sandbox = start(with_faults({truncate}), plain_http);
    ASSERT_TRUE(sandbox);
    const auto response = transport_for(*sandbox)->send(get(sandbox->base_url() + "/x"));
    ASSERT_FALSE(response.ok()) << "plain_http=" << plain_http
                                << " got a whole answer: " << response.value().body;
    EXPECT_EQ(response.error().kind, ErrorKind::kTransport);
    EXPECT_NE(response.error().message.find("before the whole response arrived"), std::string::npos)
        << response.error().message;
  }
}

TEST(SandboxFaults, ResetIsATransportErrorWithNoAnswer) {
  FaultSpec reset;
  reset.kind = "reset";
  reset.count = 1;
  for (const bool plain_http : {false, true}) {
    auto sandbox = start(with_faults({reset}), plain_http);
    ASSERT_TRUE(sandbox);
    auto transport = transport_for(*sandbox);
    const auto response = transport->send(get(sandbox->base_url() + "/x"));
    ASSERT_FALSE(response.ok()) << "plain_http=" << plain_http << ": status "
                                << response.value().status;
    EXPECT_EQ(response.error().kind, ErrorKind::kTransport);
    EXPECT_EQ(response.error().http_status, 0);
    // The fault was used up: the next request is answered, and the server lives on.
    const auto next = transport->send(get(sandbox->base_url() + "/x"));
    ASSERT_TRUE(next.ok()) << next.error().describe();
    EXPECT_EQ(next.value().status, 404);
  }
}

TEST(SandboxFaults, ThrottleAndDenyReachTheClientInTheServicesShape) {
  FaultSpec throttle;
  throttle.kind = "throttle";
  throttle.service = "kms";
  throttle.operation = "ListKeys";
  throttle.region = "eu-west-1";
  FaultSpec deny;
  deny.kind = "deny";
  deny.provider = "azure";
  deny.operation = "/subscriptions";
  auto sandbox = start(with_faults({throttle, deny}));
  ASSERT_TRUE(sandbox);
  auto transport = transport_for(*sandbox);

  const auto throttled = transport->send(kms_request(*sandbox, "eu-west-1", "ListKeys"));
  ASSERT_TRUE(throttled.ok()) << throttled.error().describe();
  EXPECT_EQ(throttled.value().status, 400);
  EXPECT_EQ(json::parse(throttled.value().body)["__type"], "ThrottlingException");
  EXPECT_EQ(throttled.value().headers.find("Retry-After"), nullptr);
  EXPECT_TRUE(std::regex_match(throttled.value().headers.get("x-amzn-RequestId"),
                               std::regex("[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-"
                                          "[0-9a-f]{12}")));

  // Elsewhere the request reaches the KMS handler, which judges the (invalid) signature.
  const auto other_region = transport->send(kms_request(*sandbox, "us-east-1", "ListKeys"));
  ASSERT_TRUE(other_region.ok());
  EXPECT_EQ(other_region.value().body.find("ThrottlingException"), std::string::npos)
      << other_region.value().body;

  const auto denied =
      transport->send(get(sandbox->base_url() + "/subscriptions?api-version=2022-12-01"));
  ASSERT_TRUE(denied.ok());
  EXPECT_EQ(denied.value().status, 403);
  EXPECT_EQ(json::parse(denied.value().body)["error"]["code"], "AuthorizationFailed");
}

TEST(SandboxFaults, LatencyDelaysTheAnswer) {
  FaultSpec latency;
  latency.kind = "latency";
  latency.latency_ms = 300;
  auto sandbox = start(with_faults({latency}));
  ASSERT_TRUE(sandbox);
  auto transport = transport_for(*sandbox);
  const auto before = std::chrono::steady_clock::now();
  const auto response = transport->send(get(sandbox->base_url() + "/x"));
  ASSERT_TRUE(response.ok());
  EXPECT_GE(std::chrono::steady_clock::now() - before, std::chrono::milliseconds(300));
  EXPECT_EQ(response.value().status, 404);
}

// ---- the context ----

TEST(SandboxContext, KeyPairsAreMadeOnceAndCached) {
  SandboxContext context(small_scenario(), "https://127.0.0.1:1");
  const std::string rsa = context.private_key_pem("arn:key/1", "RSA", 2048);
  ASSERT_EQ(rsa.rfind("-----BEGIN PRIVATE KEY-----", 0), 0U);
  EXPECT_EQ(context.private_key_pem("arn:key/1", "RSA", 2048), rsa);
  EXPECT_NE(context.private_key_pem("arn:key/2", "RSA", 2048), rsa);

  BIO* bio = BIO_new_mem_buf(rsa.data(), static_cast<int>(rsa.size()));
  EVP_PKEY* key = PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  ASSERT_NE(key, nullptr);
  EXPECT_EQ(EVP_PKEY_get_base_id(key), EVP_PKEY_RSA);
  EXPECT_EQ(EVP_PKEY_get_bits(key), 2048);
  EVP_PKEY_free(key);

  const std::string ec = context.private_key_pem("kid/ec", "EC", NID_secp384r1);
  bio = BIO_new_mem_buf(ec.data(), static_cast<int>(ec.size()));
  key = PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  ASSERT_NE(key, nullptr);
  EXPECT_EQ(EVP_PKEY_get_base_id(key), EVP_PKEY_EC);
  EXPECT_EQ(EVP_PKEY_get_bits(key), 384);
  EVP_PKEY_free(key);

  EXPECT_EQ(context.private_key_pem("x", "DSA", 2048), "");
}

TEST(SandboxContext, ConcurrentCallersGetTheSameKey) {
  SandboxContext context(small_scenario(), "https://127.0.0.1:1");
  std::vector<std::string> results(8);
  std::vector<std::thread> threads;
  for (std::size_t i = 0; i < results.size(); ++i) {
    threads.emplace_back(
        [&, i] { results[i] = context.private_key_pem("shared", "EC", NID_X9_62_prime256v1); });
  }
  for (auto& thread : threads) thread.join();
  for (const auto& result : results) EXPECT_EQ(result, results[0]);
  EXPECT_FALSE(results[0].empty());
}

TEST(SandboxContext, TokensAndRequestIds) {
  SandboxContext context(small_scenario(), "https://127.0.0.1:1");
  const std::string token = context.issue_token("https://management.azure.com/", "client");
  const std::string other = context.issue_token("https://vault.azure.net", "client");
  EXPECT_NE(token, other);
  EXPECT_GE(token.size(), 40U);
  EXPECT_EQ(context.token_audience(token), "https://management.azure.com/");
  EXPECT_EQ(context.token_audience(other), "https://vault.azure.net");
  EXPECT_EQ(context.token_audience("forged"), std::nullopt);

  std::set<std::string> ids;
  for (int i = 0; i < 100; ++i) {
    const std::string id = context.new_request_id();
    EXPECT_TRUE(std::regex_match(
        id, std::regex("[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")))
        << id;
    ids.insert(id);
  }
  EXPECT_EQ(ids.size(), 100U);
}

}  // namespace
}  // namespace hsmproof::sandbox
