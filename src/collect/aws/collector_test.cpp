// The collector is driven through a real AwsClient (signing, protocols, error parsing) over a
// fake transport that plays AWS: it dispatches on X-Amz-Target / the form Action and on the
// region of the SigV4 credential scope, answers in the services' wire formats, and can inject
// errors per operation and region.

#include "collect/aws/collector.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "core/clock.h"
#include "core/environment.h"

namespace hsmproof::aws {
namespace {

using nlohmann::json;

constexpr const char* kAccount = "123456789012";
constexpr const char* kCallerArn = "arn:aws:iam::123456789012:user/scanner";
constexpr const char* kSecretKey = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";

class StaticCredentials final : public CredentialProvider {
 public:
  Result<Credentials> get() override {
    return Credentials{"AKIDEXAMPLE", kSecretKey, "", std::nullopt, "environment"};
  }
  [[nodiscard]] std::string describe() const override { return "environment variables"; }
};

class MissingCredentials final : public CredentialProvider {
 public:
  Result<Credentials> get() override {
    return Error{ErrorKind::kCredentials,
                 "no AWS credentials found (tried environment, shared profile 'default')"};
  }
  [[nodiscard]] std::string describe() const override { return "no source"; }
};

// ---- wire helpers ----

struct FakeCall {
  std::string action;  // "kms:ListKeys": signing name from the credential scope + operation
  std::string region;  // from the credential scope
  json input;          // JSON body, or the form fields of a query call
};

std::string percent_decode(const std::string& text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '+') {
      out += ' ';
    } else if (text[i] == '%' && i + 2 < text.size()) {
      out += static_cast<char>(std::stoi(text.substr(i + 1, 2), nullptr, 16));
      i += 2;
    } else {
      out += text[i];
    }
  }
  return out;
}

json parse_form(const std::string& body) {
  json fields = json::object();
  std::size_t start = 0;
  while (start <= body.size()) {
    std::size_t end = body.find('&', start);
    if (end == std::string::npos) end = body.size();
    const std::string pair = body.substr(start, end - start);
    const std::size_t eq = pair.find('=');
    if (!pair.empty()) {
      fields[percent_decode(pair.substr(0, eq))] =
          eq == std::string::npos ? "" : percent_decode(pair.substr(eq + 1));
    }
    start = end + 1;
  }
  return fields;
}

http::Response json_answer(const json& body) {
  http::Response response;
  response.status = 200;
  response.headers.set("Content-Type", "application/x-amz-json-1.1");
  response.headers.set("x-amzn-RequestId", "11111111-2222-3333-4444-555555555555");
  response.body = body.dump();
  return response;
}

http::Response json_error(int status, const std::string& code, const std::string& message) {
  http::Response response;
  response.status = status;
  response.headers.set("Content-Type", "application/x-amz-json-1.1");
  response.headers.set("x-amzn-RequestId", "req-" + code);
  response.body = json{{"__type", code}, {"message", message}}.dump();
  return response;
}

http::Response xml_answer(const std::string& body) {
  http::Response response;
  response.status = 200;
  response.headers.set("Content-Type", "text/xml");
  response.body = body;
  return response;
}

http::Response xml_error(int status, const std::string& body) {
  http::Response response;
  response.status = status;
  response.headers.set("Content-Type", "text/xml");
  response.body = body;
  return response;
}

// STS (awsQuery) error shape.
http::Response sts_error(int status, const std::string& code, const std::string& message) {
  return xml_error(status,
                   "<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><Error>"
                   "<Type>Sender</Type><Code>" +
                       code + "</Code><Message>" + message +
                       "</Message></Error><RequestId>req-sts-" + code +
                       "</RequestId></ErrorResponse>");
}

// EC2 error shape.
http::Response ec2_error(int status, const std::string& code, const std::string& message) {
  return xml_error(
      status, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Response><Errors><Error><Code>" + code +
                  "</Code><Message>" + message + "</Message></Error></Errors><RequestID>req-ec2-" +
                  code + "</RequestID></Response>");
}

// ---- the fake AWS ----

class FakeAws final : public http::Transport {
 public:
  using Handler = std::function<http::Response(const FakeCall&)>;
  using Predicate = std::function<bool(const FakeCall&)>;

  // Handlers and injected failures are set up before a scan and only read during it.
  void on(const std::string& action, Handler handler) { handlers_[action] = std::move(handler); }
  void fail_when(const std::string& action, Predicate predicate, http::Response response) {
    failures_.push_back({action, std::move(predicate), std::move(response)});
  }
  void fail(const std::string& action, const std::string& region, http::Response response) {
    fail_when(
        action, [region](const FakeCall& call) { return call.region == region; },
        std::move(response));
  }

  std::chrono::milliseconds delay{0};

  Result<http::Response> send(const http::Request& request) override {
    const std::string target = request.headers.get("X-Amz-Target");
    const bool describe_key = target == "TrentService.DescribeKey";
    raise_max(max_in_flight_, ++in_flight_);
    if (describe_key) raise_max(max_describe_key_in_flight_, ++describe_key_in_flight_);
    if (delay.count() > 0) std::this_thread::sleep_for(delay);
    http::Response response = answer(request);
    if (describe_key) --describe_key_in_flight_;
    --in_flight_;
    return response;
  }

  [[nodiscard]] std::vector<FakeCall> calls(const std::string& action) const {
    std::lock_guard lock(mutex_);
    std::vector<FakeCall> out;
    for (const FakeCall& call : log_) {
      if (call.action == action) out.push_back(call);
    }
    return out;
  }
  [[nodiscard]] std::size_t total_calls() const {
    std::lock_guard lock(mutex_);
    return log_.size();
  }
  [[nodiscard]] int max_in_flight() const { return max_in_flight_.load(); }
  [[nodiscard]] int max_describe_key_in_flight() const {
    return max_describe_key_in_flight_.load();
  }

 private:
  struct Failure {
    std::string action;
    Predicate predicate;
    http::Response response;
  };

  static void raise_max(std::atomic<int>& max, int value) {
    int seen = max.load();
    while (value > seen && !max.compare_exchange_weak(seen, value)) {
    }
  }

  http::Response answer(const http::Request& request) {
    // Credential=AKID/date/region/service/aws4_request
    const std::string authorization = request.headers.get("Authorization");
    const std::size_t credential = authorization.find("Credential=");
    if (credential == std::string::npos) {
      return json_error(403, "MissingAuthenticationTokenException", "Missing Authentication Token");
    }
    std::vector<std::string> scope;
    std::size_t start = credential + 11;
    while (scope.size() < 5) {
      const std::size_t slash = authorization.find_first_of("/,", start);
      scope.push_back(authorization.substr(start, slash - start));
      if (slash == std::string::npos || authorization[slash] == ',') break;
      start = slash + 1;
    }
    if (scope.size() < 5 || scope[4] != "aws4_request") {
      return json_error(403, "IncompleteSignatureException", "bad credential scope");
    }
    FakeCall call;
    call.region = scope[2];
    const std::string& service = scope[3];
    const std::string target = request.headers.get("X-Amz-Target");
    std::string operation;
    if (!target.empty()) {
      const std::size_t dot = target.rfind('.');
      const std::string prefix = target.substr(0, dot);
      operation = target.substr(dot + 1);
      const std::map<std::string, std::string> expected_prefix = {
          {"kms", "TrentService"},
          {"cloudtrail", "CloudTrail_20131101"},
          {"cloudhsm", "BaldrApiService"}};
      auto expected = expected_prefix.find(service);
      if (expected == expected_prefix.end() || prefix.size() < expected->second.size() ||
          prefix.compare(prefix.size() - expected->second.size(), std::string::npos,
                         expected->second) != 0) {
        return json_error(400, "UnknownOperationException", "unknown target " + target);
      }
      call.input = json::parse(request.body, nullptr, false);
      if (call.input.is_discarded()) return json_error(400, "SerializationException", "bad JSON");
    } else {
      call.input = parse_form(request.body);
      operation = call.input.value("Action", "");
      const std::string version = call.input.value("Version", "");
      const std::string expected_version = service == "sts" ? "2011-06-15" : "2016-11-15";
      if (version != expected_version) {
        return sts_error(400, "InvalidAction", "unsupported version " + version);
      }
    }
    call.action = service + ":" + operation;
    {
      std::lock_guard lock(mutex_);
      log_.push_back(call);
    }
    for (const Failure& failure : failures_) {
      if (failure.action == call.action && failure.predicate(call)) return failure.response;
    }
    auto handler = handlers_.find(call.action);
    if (handler == handlers_.end()) {
      return json_error(400, "UnknownOperationException", "no handler for " + call.action);
    }
    return handler->second(call);
  }

  std::map<std::string, Handler> handlers_;
  std::vector<Failure> failures_;
  mutable std::mutex mutex_;
  std::vector<FakeCall> log_;
  std::atomic<int> in_flight_{0};
  std::atomic<int> max_in_flight_{0};
  std::atomic<int> describe_key_in_flight_{0};
  std::atomic<int> max_describe_key_in_flight_{0};
};

// ---- a simulated account, served by default handlers ----

std::string key_arn(const std::string& region, const std::string& key_id) {
  return "arn:aws:kms:" + region + ":" + kAccount + ":key/" + key_id;
}
std::string trail_arn(const std::string& region, const std::string& name) {
  return "arn:aws:cloudtrail:" + region + ":" + kAccount + ":trail/" + name;
}

json key_metadata(const std::string& region, const std::string& key_id,
                  const std::string& key_spec = "RSA_4096", const std::string& origin = "AWS_KMS") {
  const bool symmetric = key_spec == "SYMMETRIC_DEFAULT";
  return {{"AWSAccountId", kAccount},
          {"KeyId", key_id},
          {"Arn", key_arn(region, key_id)},
          {"CreationDate", 1.665517588478E9},
          {"Enabled", true},
          {"Description", "key " + key_id},
          {"KeyUsage", symmetric ? "ENCRYPT_DECRYPT" : "SIGN_VERIFY"},
          {"KeyState", "Enabled"},
          {"Origin", origin},
          {"KeyManager", "CUSTOMER"},
          {"CustomerMasterKeySpec", key_spec},
          {"KeySpec", key_spec},
          {"MultiRegion", false}};
}

json trail_entry(const std::string& home_region, const std::string& name, bool multi_region,
                 bool organization = false) {
  return {{"Name", name},
          {"S3BucketName", "audit-logs"},
          {"IncludeGlobalServiceEvents", true},
          {"IsMultiRegionTrail", multi_region},
          {"HomeRegion", home_region},
          {"TrailARN", trail_arn(home_region, name)},
          {"LogFileValidationEnabled", true},
          {"HasCustomEventSelectors", false},
          {"HasInsightSelectors", false},
          {"IsOrganizationTrail", organization}};
}

json cluster_entry(const std::string& cluster_id, const std::string& state,
                   const std::vector<std::pair<std::string, std::string>>& hsms) {
  json hsm_list = json::array();
  for (const auto& [hsm_id, hsm_state] : hsms) {
    hsm_list.push_back({{"AvailabilityZone", "us-east-1a"},
                        {"ClusterId", cluster_id},
                        {"SubnetId", "subnet-1"},
                        {"EniId", "eni-1"},
                        {"EniIp", "10.0.0.5"},
                        {"HsmId", hsm_id},
                        {"HsmType", "hsm2m.medium"},
                        {"State", hsm_state}});
  }
  return {{"ClusterId", cluster_id},   {"CreateTimestamp", 1.7e9}, {"Hsms", hsm_list},
          {"HsmType", "hsm2m.medium"}, {"Mode", "FIPS"},           {"State", state},
          {"VpcId", "vpc-1"},          {"TagList", json::array()}};
}

struct World {
  std::vector<std::pair<std::string, std::string>> regions = {{"us-east-1", "opt-in-not-required"},
                                                              {"eu-west-1", "opt-in-not-required"}};
  std::map<std::string, std::vector<json>> keys;      // region -> KeyMetadata
  std::map<std::string, std::vector<json>> aliases;   // region -> AliasListEntry
  std::map<std::string, std::vector<json>> trails;    // region -> DescribeTrails trailList
  std::map<std::string, json> trail_status;           // ARN -> GetTrailStatus answer
  std::map<std::string, json> event_selectors;        // ARN -> GetEventSelectors answer
  std::map<std::string, std::vector<json>> clusters;  // region -> Cluster
  std::size_t kms_page_size = 100;  // AWS's default page; requests may ask for less
  std::size_t hsm_page_size = 25;

  void add_key(const std::string& region, const std::string& key_id,
               const std::string& key_spec = "RSA_4096") {
    keys[region].push_back(key_metadata(region, key_id, key_spec));
  }
};

std::string kms_marker(const std::string& region, const std::string& operation,
                       std::size_t offset) {
  return operation + "-" + region + "-" + std::to_string(offset);
}

// KMS paging over `items`: Limit and Marker in, NextMarker and Truncated out.
json kms_page(const FakeCall& call, const std::vector<json>& items, std::size_t server_page_size,
              const char* operation, const char* items_member,
              const std::function<json(const json&)>& project) {
  std::size_t offset = 0;
  if (call.input.contains("Marker")) {
    const std::string marker = call.input["Marker"].get<std::string>();
    const std::string prefix = kms_marker(call.region, operation, 0);
    const std::string stem = prefix.substr(0, prefix.size() - 1);
    offset = static_cast<std::size_t>(std::stoul(marker.substr(stem.size())));
  }
  std::size_t page = server_page_size;
  if (call.input.contains("Limit")) {
    page = std::min(page, call.input["Limit"].get<std::size_t>());
  }
  json list = json::array();
  for (std::size_t i = offset; i < items.size() && i < offset + page; ++i) {
    list.push_back(project(items[i]));
  }
  json out = {{items_member, list}};
  if (offset + page < items.size()) {
    out["Truncated"] = true;
    out["NextMarker"] = kms_marker(call.region, operation, offset + page);
  } else {
    out["Truncated"] = false;
  }
  return out;
}

void serve_world(FakeAws& fake, const World& world) {
  fake.on("sts:GetCallerIdentity", [](const FakeCall&) {
    return xml_answer(
        std::string(
            "<GetCallerIdentityResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">"
            "<GetCallerIdentityResult><Arn>") +
        kCallerArn + "</Arn><UserId>AIDAEXAMPLE</UserId><Account>" + kAccount +
        "</Account></GetCallerIdentityResult><ResponseMetadata><RequestId>req-sts</RequestId>"
        "</ResponseMetadata></GetCallerIdentityResponse>");
  });
  fake.on("ec2:DescribeRegions", [&world](const FakeCall&) {
    std::string body =
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<DescribeRegionsResponse "
        "xmlns=\"http://ec2.amazonaws.com/doc/2016-11-15/\"><requestId>req-ec2</requestId>"
        "<regionInfo>";
    for (const auto& [name, opt_in] : world.regions) {
      body += "<item><regionName>" + name + "</regionName><regionEndpoint>ec2." + name +
              ".amazonaws.com</regionEndpoint><optInStatus>" + opt_in + "</optInStatus></item>";
    }
    body += "</regionInfo></DescribeRegionsResponse>";
    return xml_answer(body);
  });
  fake.on("kms:ListKeys", [&world](const FakeCall& call) {
    static const std::vector<json> kNone;
    auto found = world.keys.find(call.region);
    return json_answer(kms_page(call, found == world.keys.end() ? kNone : found->second,
                                world.kms_page_size, "ListKeys", "Keys", [](const json& key) {
                                  return json{{"KeyId", key["KeyId"]}, {"KeyArn", key["Arn"]}};
                                }));
  });
  fake.on("kms:ListAliases", [&world](const FakeCall& call) {
    static const std::vector<json> kNone;
    auto found = world.aliases.find(call.region);
    return json_answer(kms_page(call, found == world.aliases.end() ? kNone : found->second,
                                world.kms_page_size, "ListAliases", "Aliases",
                                [](const json& alias) { return alias; }));
  });
  fake.on("kms:DescribeKey", [&world](const FakeCall& call) {
    const std::string wanted = call.input.value("KeyId", "");
    auto found = world.keys.find(call.region);
    if (found != world.keys.end()) {
      for (const json& key : found->second) {
        if (key["KeyId"] == wanted || key["Arn"] == wanted) {
          return json_answer({{"KeyMetadata", key}});
        }
      }
    }
    return json_error(400, "NotFoundException", "Key '" + wanted + "' does not exist");
  });
  fake.on("cloudtrail:DescribeTrails", [&world](const FakeCall& call) {
    json list = json::array();
    auto found = world.trails.find(call.region);
    if (found != world.trails.end()) {
      for (const json& trail : found->second) list.push_back(trail);
    }
    return json_answer({{"trailList", list}});
  });
  fake.on("cloudtrail:GetTrailStatus", [&world](const FakeCall& call) {
    auto found = world.trail_status.find(call.input.value("Name", ""));
    if (found == world.trail_status.end()) {
      return json_error(400, "TrailNotFoundException", "Unknown trail");
    }
    return json_answer(found->second);
  });
  fake.on("cloudtrail:GetEventSelectors", [&world](const FakeCall& call) {
    auto found = world.event_selectors.find(call.input.value("TrailName", ""));
    if (found == world.event_selectors.end()) {
      return json_error(400, "TrailNotFoundException", "Unknown trail");
    }
    return json_answer(found->second);
  });
  fake.on("cloudhsm:DescribeClusters", [&world](const FakeCall& call) {
    std::size_t offset = 0;
    if (call.input.contains("NextToken")) {
      offset = static_cast<std::size_t>(
          std::stoul(call.input["NextToken"].get<std::string>().substr(6)));
    }
    json list = json::array();
    auto found = world.clusters.find(call.region);
    const std::size_t total = found == world.clusters.end() ? 0 : found->second.size();
    for (std::size_t i = offset; i < total && i < offset + world.hsm_page_size; ++i) {
      list.push_back(found->second[i]);
    }
    json out = {{"Clusters", list}};
    if (offset + world.hsm_page_size < total) {
      out["NextToken"] = "token-" + std::to_string(offset + world.hsm_page_size);
    }
    return json_answer(out);
  });
}

// A basic selector logging everything, as the console creates it.
json default_selectors(const std::string& arn) {
  return {{"TrailARN", arn},
          {"EventSelectors",
           {{{"ReadWriteType", "All"},
             {"IncludeManagementEvents", true},
             {"DataResources", json::array()},
             {"ExcludeManagementEventSources", json::array()}}}}};
}

json logging_status(bool is_logging) {
  return {{"IsLogging", is_logging},
          {"LatestDeliveryTime", 1.7e9},
          {"StartLoggingTime", 1.6e9},
          {"TimeLoggingStarted", "2020-09-13T12:26:40Z"}};
}

class CollectorTest : public ::testing::Test {
 protected:
  CollectorTest() { serve_world(fake_, world_); }

  // A trail in `home_region` listed by DescribeTrails of every region in `listed_in`.
  void add_trail(const std::string& home_region, const std::string& name, bool multi_region,
                 const std::vector<std::string>& listed_in, bool is_logging = true) {
    const json entry = trail_entry(home_region, name, multi_region);
    for (const std::string& region : listed_in) world_.trails[region].push_back(entry);
    const std::string arn = trail_arn(home_region, name);
    world_.trail_status[arn] = logging_status(is_logging);
    world_.event_selectors[arn] = default_selectors(arn);
  }

  static const model::AwsRegionInventory& region_of(const model::AwsInventory& inventory,
                                                    const std::string& region) {
    for (const auto& entry : inventory.regions) {
      if (entry.region == region) return entry;
    }
    ADD_FAILURE() << "region " << region << " missing from the inventory";
    static const model::AwsRegionInventory kMissing;
    return kMissing;
  }

  Result<model::AwsInventory> scan(const std::vector<std::string>& regions) {
    CollectOptions options;
    options.regions = regions;
    return collect_inventory(client_, pool_, options);
  }

  FakeEnvironment env_;
  FakeAws fake_;
  FixedClock clock_{std::chrono::sys_days{std::chrono::year{2024} / 1 / 15} +
                    std::chrono::hours{12}};
  World world_;
  AwsClient client_{env_, fake_, clock_, std::make_shared<StaticCredentials>()};
  TaskPool pool_{4};
};

// ---- KMS ----

TEST_F(CollectorTest, ListKeysFollowsEveryMarkerAcrossThreePages) {
  for (int i = 0; i < 250; ++i) {
    world_.add_key("us-east-1", "key-" + std::to_string(1000 + i), "SYMMETRIC_DEFAULT");
  }
  std::optional<Error> aliases_error;
  auto keys = collect_kms_keys(client_, pool_, "us-east-1", aliases_error);
  ASSERT_TRUE(keys.ok()) << keys.error().describe();
  ASSERT_EQ(keys->size(), 250U);
  for (const model::KmsKey& key : *keys) {
    ASSERT_TRUE(key.metadata.ok()) << key.key_id << ": " << key.metadata.error().describe();
    EXPECT_EQ(key.metadata->key_id, key.key_id);
    EXPECT_EQ(key.arn, key_arn("us-east-1", key.key_id));
  }
  const auto pages = fake_.calls("kms:ListKeys");
  ASSERT_EQ(pages.size(), 3U);
  EXPECT_FALSE(pages[0].input.contains("Marker"));
  EXPECT_EQ(pages[1].input.value("Marker", ""), kms_marker("us-east-1", "ListKeys", 100));
  EXPECT_EQ(pages[2].input.value("Marker", ""), kms_marker("us-east-1", "ListKeys", 200));
  for (const FakeCall& page : pages) EXPECT_EQ(page.input.value("Limit", 0), 1000);
  EXPECT_EQ(fake_.calls("kms:DescribeKey").size(), 250U);
  EXPECT_FALSE(aliases_error.has_value());
}

TEST_F(CollectorTest, ListKeysHonoursMarkerWithoutTruncatedFlag) {
  for (int i = 0; i < 3; ++i) world_.add_key("us-east-1", "key-" + std::to_string(i));
  fake_.on("kms:ListKeys", [](const FakeCall& call) {
    // An answer that omits Truncated: NextMarker alone must keep the paging going.
    if (!call.input.contains("Marker")) {
      return json_answer(
          {{"Keys", {{{"KeyId", "key-0"}, {"KeyArn", key_arn("us-east-1", "key-0")}}}},
           {"NextMarker", "second"}});
    }
    return json_answer({{"Keys",
                         {{{"KeyId", "key-1"}, {"KeyArn", key_arn("us-east-1", "key-1")}},
                          {{"KeyId", "key-2"}, {"KeyArn", key_arn("us-east-1", "key-2")}}}},
                        {"NextMarker", nullptr}});
  });
  std::optional<Error> aliases_error;
  auto keys = collect_kms_keys(client_, pool_, "us-east-1", aliases_error);
  ASSERT_TRUE(keys.ok()) << keys.error().describe();
  EXPECT_EQ(keys->size(), 3U);
  EXPECT_EQ(fake_.calls("kms:ListKeys").size(), 2U);
}

TEST_F(CollectorTest, ListKeysFailureOnALaterPageFailsTheWholeList) {
  for (int i = 0; i < 150; ++i) world_.add_key("us-east-1", "key-" + std::to_string(i));
  fake_.fail_when(
      "kms:ListKeys", [](const FakeCall& call) { return call.input.contains("Marker"); },
      json_error(500, "KMSInternalException", "internal error"));
  std::optional<Error> aliases_error;
  auto keys = collect_kms_keys(client_, pool_, "us-east-1", aliases_error);
  ASSERT_FALSE(keys.ok());
  EXPECT_EQ(keys.error().kind, ErrorKind::kHttp);
  EXPECT_EQ(keys.error().operation, "kms:ListKeys");
  EXPECT_EQ(keys.error().region, "us-east-1");
  EXPECT_EQ(keys.error().http_status, 500);
  EXPECT_EQ(keys.error().provider_code, "KMSInternalException");
  EXPECT_EQ(keys.error().request_id, "req-KMSInternalException");
}

TEST_F(CollectorTest, TruncatedPageWithoutMarkerIsMalformedNotAShortList) {
  fake_.on("kms:ListKeys", [](const FakeCall&) {
    return json_answer(
        {{"Keys", {{{"KeyId", "k"}, {"KeyArn", key_arn("us-east-1", "k")}}}}, {"Truncated", true}});
  });
  std::optional<Error> aliases_error;
  auto keys = collect_kms_keys(client_, pool_, "us-east-1", aliases_error);
  ASSERT_FALSE(keys.ok());
  EXPECT_EQ(keys.error().kind, ErrorKind::kMalformed);
  EXPECT_EQ(keys.error().operation, "kms:ListKeys");
  EXPECT_EQ(keys.error().region, "us-east-1");
}

TEST_F(CollectorTest, RepeatedMarkerStopsPagingAsMalformed) {
  fake_.on("kms:ListKeys", [](const FakeCall&) {
    return json_answer({{"Keys", json::array()}, {"Truncated", true}, {"NextMarker", "again"}});
  });
  std::optional<Error> aliases_error;
  auto keys = collect_kms_keys(client_, pool_, "us-east-1", aliases_error);
  ASSERT_FALSE(keys.ok());
  EXPECT_EQ(keys.error().kind, ErrorKind::kMalformed);
  EXPECT_EQ(fake_.calls("kms:ListKeys").size(), 2U);
}

TEST_F(CollectorTest, DescribeKeyDeniedForOneKeyKeepsTheOthers) {
  world_.add_key("eu-west-1", "allowed-1");
  world_.add_key("eu-west-1", "denied");
  world_.add_key("eu-west-1", "allowed-2", "ECC_NIST_P384");
  fake_.fail_when(
      "kms:DescribeKey",
      [](const FakeCall& call) { return call.input.value("KeyId", "") == "denied"; },
      json_error(
          400, "AccessDeniedException",
          std::string("User: ") + kCallerArn + " is not authorized to perform: kms:DescribeKey"));
  std::optional<Error> aliases_error;
  auto keys = collect_kms_keys(client_, pool_, "eu-west-1", aliases_error);
  ASSERT_TRUE(keys.ok()) << keys.error().describe();
  ASSERT_EQ(keys->size(), 3U);
  int denied = 0;
  for (const model::KmsKey& key : *keys) {
    if (key.key_id == "denied") {
      ++denied;
      ASSERT_FALSE(key.metadata.ok());
      const Error& error = key.metadata.error();
      EXPECT_EQ(error.kind, ErrorKind::kHttp);
      EXPECT_EQ(error.operation, "kms:DescribeKey");
      EXPECT_EQ(error.region, "eu-west-1");
      EXPECT_EQ(error.resource, "denied");
      EXPECT_EQ(error.provider_code, "AccessDeniedException");
      EXPECT_EQ(error.http_status, 400);
      EXPECT_EQ(key.arn, key_arn("eu-west-1", "denied"));
    } else {
      ASSERT_TRUE(key.metadata.ok()) << key.metadata.error().describe();
      EXPECT_EQ(key.metadata->key_state, "Enabled");
    }
  }
  EXPECT_EQ(denied, 1);
}

TEST_F(CollectorTest, KeyMetadataFieldsAreCopied) {
  json metadata = key_metadata("us-east-1", "imported", "ECC_NIST_P256", "EXTERNAL");
  metadata["KeyState"] = "Disabled";
  metadata["Enabled"] = false;
  metadata["MultiRegion"] = true;
  metadata["KeyManager"] = "CUSTOMER";
  metadata["Description"] = "code signing";
  world_.keys["us-east-1"].push_back(metadata);
  // A key from the deprecated field era: only CustomerMasterKeySpec, no MultiRegion.
  json legacy = key_metadata("us-east-1", "legacy", "RSA_3072");
  legacy.erase("KeySpec");
  legacy.erase("MultiRegion");
  legacy["KeyManager"] = "AWS";
  world_.keys["us-east-1"].push_back(legacy);

  std::optional<Error> aliases_error;
  auto keys = collect_kms_keys(client_, pool_, "us-east-1", aliases_error);
  ASSERT_TRUE(keys.ok()) << keys.error().describe();
  ASSERT_EQ(keys->size(), 2U);
  // Sorted by ARN: ".../key/imported" < ".../key/legacy".
  const model::KmsKeyMetadata& imported = keys->at(0).metadata.value();
  EXPECT_EQ(imported.key_id, "imported");
  EXPECT_EQ(imported.arn, key_arn("us-east-1", "imported"));
  EXPECT_EQ(imported.key_manager, "CUSTOMER");
  EXPECT_EQ(imported.key_state, "Disabled");
  EXPECT_FALSE(imported.enabled);
  EXPECT_EQ(imported.origin, "EXTERNAL");
  EXPECT_EQ(imported.key_spec, "ECC_NIST_P256");
  EXPECT_EQ(imported.key_usage, "SIGN_VERIFY");
  EXPECT_TRUE(imported.multi_region);
  EXPECT_EQ(imported.description, "code signing");
  const model::KmsKeyMetadata& old = keys->at(1).metadata.value();
  EXPECT_EQ(old.key_id, "legacy");
  EXPECT_EQ(old.key_spec, "RSA_3072");
  EXPECT_EQ(old.key_manager, "AWS");
  EXPECT_TRUE(old.enabled);
  EXPECT_FALSE(old.multi_region);
}

TEST_F(CollectorTest, MalformedDescribeKeyAnswersAreErrorsOfThatKeyOnly) {
  for (const char* id : {"no-metadata", "no-state", "wrong-type", "fine"}) {
    world_.add_key("us-east-1", id);
  }
  fake_.fail_when(
      "kms:DescribeKey",
      [](const FakeCall& call) { return call.input.value("KeyId", "") == "no-metadata"; },
      json_answer(json::object()));
  json no_state = key_metadata("us-east-1", "no-state");
  no_state.erase("KeyState");
  fake_.fail_when(
      "kms:DescribeKey",
      [](const FakeCall& call) { return call.input.value("KeyId", "") == "no-state"; },
      json_answer({{"KeyMetadata", no_state}}));
  json wrong_type = key_metadata("us-east-1", "wrong-type");
  wrong_type["Enabled"] = "yes";
  fake_.fail_when(
      "kms:DescribeKey",
      [](const FakeCall& call) { return call.input.value("KeyId", "") == "wrong-type"; },
      json_answer({{"KeyMetadata", wrong_type}}));

  std::optional<Error> aliases_error;
  auto keys = collect_kms_keys(client_, pool_, "us-east-1", aliases_error);
  ASSERT_TRUE(keys.ok()) << keys.error().describe();
  ASSERT_EQ(keys->size(), 4U);
  for (const model::KmsKey& key : *keys) {
    if (key.key_id == "fine") {
      EXPECT_TRUE(key.metadata.ok());
      continue;
    }
    ASSERT_FALSE(key.metadata.ok()) << key.key_id;
    EXPECT_EQ(key.metadata.error().kind, ErrorKind::kMalformed) << key.key_id;
    EXPECT_EQ(key.metadata.error().operation, "kms:DescribeKey");
    EXPECT_EQ(key.metadata.error().region, "us-east-1");
    EXPECT_EQ(key.metadata.error().resource, key.key_id);
  }
}

TEST_F(CollectorTest, AliasesAttachToTheirKeysAcrossPagesAndAwsManagedOnesAreSkipped) {
  world_.kms_page_size = 2;
  world_.add_key("us-east-1", "signing");
  world_.add_key("us-east-1", "other");
  world_.aliases["us-east-1"] = {
      {{"AliasName", "alias/codesign-b"},
       {"AliasArn", "arn:aws:kms:us-east-1:123456789012:alias/codesign-b"},
       {"TargetKeyId", "signing"}},
      {{"AliasName", "alias/aws/ebs"},
       {"AliasArn", "arn:aws:kms:us-east-1:123456789012:alias/aws/ebs"}},
      {{"AliasName", "alias/codesign-a"},
       {"AliasArn", "arn:aws:kms:us-east-1:123456789012:alias/codesign-a"},
       {"TargetKeyId", "signing"}},
      {{"AliasName", "alias/backup"},
       {"AliasArn", "arn:aws:kms:us-east-1:123456789012:alias/backup"},
       {"TargetKeyId", "other"}},
  };
  std::optional<Error> aliases_error;
  auto keys = collect_kms_keys(client_, pool_, "us-east-1", aliases_error);
  ASSERT_TRUE(keys.ok()) << keys.error().describe();
  EXPECT_FALSE(aliases_error.has_value());
  ASSERT_EQ(keys->size(), 2U);
  EXPECT_EQ(keys->at(0).key_id, "other");
  EXPECT_EQ(keys->at(0).aliases, std::vector<std::string>{"alias/backup"});
  EXPECT_EQ(keys->at(1).key_id, "signing");
  EXPECT_EQ(keys->at(1).aliases,
            (std::vector<std::string>{"alias/codesign-a", "alias/codesign-b"}));
  const auto alias_pages = fake_.calls("kms:ListAliases");
  ASSERT_EQ(alias_pages.size(), 2U);
  EXPECT_EQ(alias_pages[1].input.value("Marker", ""), kms_marker("us-east-1", "ListAliases", 2));
  EXPECT_EQ(alias_pages[0].input.value("Limit", 0), 100);
}

TEST_F(CollectorTest, ListAliasesDeniedOnlyLosesAliasNames) {
  world_.add_key("us-east-1", "signing");
  world_.aliases["us-east-1"] = {{{"AliasName", "alias/x"}, {"TargetKeyId", "signing"}}};
  fake_.fail("kms:ListAliases", "us-east-1",
             json_error(400, "AccessDeniedException", "not authorized: kms:ListAliases"));
  std::optional<Error> aliases_error;
  auto keys = collect_kms_keys(client_, pool_, "us-east-1", aliases_error);
  ASSERT_TRUE(keys.ok()) << keys.error().describe();
  ASSERT_EQ(keys->size(), 1U);
  EXPECT_TRUE(keys->at(0).metadata.ok());
  EXPECT_TRUE(keys->at(0).aliases.empty());
  ASSERT_TRUE(aliases_error.has_value());
  EXPECT_EQ(aliases_error->operation, "kms:ListAliases");
  EXPECT_EQ(aliases_error->region, "us-east-1");
  EXPECT_EQ(aliases_error->provider_code, "AccessDeniedException");
}

TEST_F(CollectorTest, KeysAreSortedByArnWhateverTheListingOrder) {
  for (const char* id : {"f", "b", "e", "a", "d", "c"}) world_.add_key("us-east-1", id);
  std::optional<Error> aliases_error;
  auto keys = collect_kms_keys(client_, pool_, "us-east-1", aliases_error);
  ASSERT_TRUE(keys.ok()) << keys.error().describe();
  std::vector<std::string> ids;
  for (const auto& key : *keys) ids.push_back(key.key_id);
  EXPECT_EQ(ids, (std::vector<std::string>{"a", "b", "c", "d", "e", "f"}));
}

TEST_F(CollectorTest, ListKeysDeniedInOneRegionOnly) {
  world_.add_key("us-east-1", "east-key");
  world_.add_key("eu-west-1", "west-key");
  fake_.fail("kms:ListKeys", "eu-west-1",
             json_error(400, "AccessDeniedException", "not authorized: kms:ListKeys"));
  auto inventory = scan({"us-east-1", "eu-west-1"});
  ASSERT_TRUE(inventory.ok()) << inventory.error().describe();
  const auto& west = region_of(*inventory, "eu-west-1");
  ASSERT_FALSE(west.kms_keys.ok());
  EXPECT_EQ(west.kms_keys.error().operation, "kms:ListKeys");
  EXPECT_EQ(west.kms_keys.error().region, "eu-west-1");
  EXPECT_EQ(west.kms_keys.error().provider_code, "AccessDeniedException");
  const auto& east = region_of(*inventory, "us-east-1");
  ASSERT_TRUE(east.kms_keys.ok()) << east.kms_keys.error().describe();
  ASSERT_EQ(east.kms_keys->size(), 1U);
  EXPECT_EQ(east.kms_keys->at(0).key_id, "east-key");
  EXPECT_TRUE(east.kms_keys->at(0).metadata.ok());
  // The other services of the denied region were still read.
  EXPECT_TRUE(west.trails.ok());
  EXPECT_TRUE(west.cloudhsm_clusters.ok());
}

// ---- CloudTrail ----

TEST_F(CollectorTest, ShadowTrailSeenFromSeveralRegionsIsFetchedOnceInItsHomeRegion) {
  add_trail("us-east-1", "org-audit", true, {"us-east-1", "eu-west-1", "ap-southeast-2"});
  add_trail("eu-west-1", "local", false, {"eu-west-1"}, false);
  auto inventory = scan({"us-east-1", "eu-west-1", "ap-southeast-2"});
  ASSERT_TRUE(inventory.ok()) << inventory.error().describe();

  const std::string shadow_arn = trail_arn("us-east-1", "org-audit");
  const auto status_calls = fake_.calls("cloudtrail:GetTrailStatus");
  EXPECT_EQ(status_calls.size(), 2U);  // one per ARN, not one per region
  const auto selector_calls = fake_.calls("cloudtrail:GetEventSelectors");
  EXPECT_EQ(selector_calls.size(), 2U);
  for (const FakeCall& call : status_calls) {
    const std::string arn = call.input.value("Name", "");
    EXPECT_EQ(call.region, arn == shadow_arn ? "us-east-1" : "eu-west-1") << arn;
  }
  for (const FakeCall& call : selector_calls) {
    const std::string arn = call.input.value("TrailName", "");
    EXPECT_EQ(call.region, arn == shadow_arn ? "us-east-1" : "eu-west-1") << arn;
  }
  EXPECT_EQ(fake_.calls("cloudtrail:DescribeTrails").size(), 3U);

  for (const char* region : {"us-east-1", "eu-west-1", "ap-southeast-2"}) {
    const auto& entry = region_of(*inventory, region);
    ASSERT_TRUE(entry.trails.ok()) << entry.trails.error().describe();
    const auto shadow = std::find_if(entry.trails->begin(), entry.trails->end(),
                                     [&](const model::Trail& t) { return t.arn == shadow_arn; });
    ASSERT_NE(shadow, entry.trails->end()) << region;
    EXPECT_EQ(shadow->home_region, "us-east-1");
    EXPECT_TRUE(shadow->is_multi_region);
    ASSERT_TRUE(shadow->status.ok()) << shadow->status.error().describe();
    EXPECT_TRUE(shadow->status->is_logging);
    ASSERT_TRUE(shadow->selectors.ok());
    EXPECT_EQ(shadow->selectors->basic.size(), 1U);
  }
  const auto& west = region_of(*inventory, "eu-west-1");
  ASSERT_EQ(west.trails->size(), 2U);
  // Sorted by ARN: the eu-west-1 trail's ARN sorts before the us-east-1 one.
  EXPECT_EQ(west.trails->at(0).name, "local");
  ASSERT_TRUE(west.trails->at(0).status.ok());
  EXPECT_FALSE(west.trails->at(0).status->is_logging);
}

TEST_F(CollectorTest, SingleRegionTrailOfAnotherRegionDoesNotApply) {
  add_trail("us-east-1", "east-only", false, {"us-east-1", "eu-west-1"});
  auto trails = collect_trails(client_, pool_, "eu-west-1");
  ASSERT_TRUE(trails.ok()) << trails.error().describe();
  EXPECT_TRUE(trails->empty());
  EXPECT_EQ(fake_.calls("cloudtrail:GetTrailStatus").size(), 0U);
}

TEST_F(CollectorTest, DescribeTrailsAsksForShadowTrails) {
  add_trail("us-east-1", "main", true, {"us-east-1"});
  auto trails = collect_trails(client_, pool_, "us-east-1");
  ASSERT_TRUE(trails.ok()) << trails.error().describe();
  const auto calls = fake_.calls("cloudtrail:DescribeTrails");
  ASSERT_EQ(calls.size(), 1U);
  EXPECT_EQ(calls[0].input.value("includeShadowTrails", false), true);
  ASSERT_EQ(trails->size(), 1U);
  EXPECT_EQ(trails->at(0).name, "main");
  EXPECT_FALSE(trails->at(0).is_organization);
}

TEST_F(CollectorTest, EventSelectorsOfBothKindsAreParsed) {
  add_trail("us-east-1", "basic", false, {"us-east-1"});
  add_trail("us-east-1", "advanced", true, {"us-east-1"});
  const std::string basic_arn = trail_arn("us-east-1", "basic");
  const std::string advanced_arn = trail_arn("us-east-1", "advanced");
  world_.event_selectors[basic_arn] = {
      {"TrailARN", basic_arn},
      {"EventSelectors",
       {{{"ReadWriteType", "WriteOnly"},
         {"IncludeManagementEvents", false},
         {"DataResources", {{{"Type", "AWS::S3::Object"}, {"Values", {"arn:aws:s3:::bucket/"}}}}},
         {"ExcludeManagementEventSources", {"kms.amazonaws.com", "rdsdata.amazonaws.com"}}},
        {{"DataResources", json::array()}}}}};
  world_.event_selectors[advanced_arn] = {
      {"TrailARN", advanced_arn},
      {"AdvancedEventSelectors",
       {{{"Name", "Management without KMS"},
         {"FieldSelectors",
          {{{"Field", "eventCategory"}, {"Equals", {"Management"}}},
           {{"Field", "eventSource"},
            {"NotEquals", {"kms.amazonaws.com"}},
            {"StartsWith", {"a"}},
            {"EndsWith", {"b"}},
            {"NotStartsWith", {"c"}},
            {"NotEndsWith", {"d", "e"}}}}}},
        {{"FieldSelectors", {{{"Field", "readOnly"}, {"Equals", {"false"}}}}}}}}};

  auto trails = collect_trails(client_, pool_, "us-east-1");
  ASSERT_TRUE(trails.ok()) << trails.error().describe();
  ASSERT_EQ(trails->size(), 2U);
  const model::Trail& advanced = trails->at(0);  // ".../trail/advanced" < ".../trail/basic"
  const model::Trail& basic = trails->at(1);
  ASSERT_EQ(basic.arn, basic_arn);
  ASSERT_TRUE(basic.selectors.ok()) << basic.selectors.error().describe();
  ASSERT_EQ(basic.selectors->basic.size(), 2U);
  EXPECT_TRUE(basic.selectors->advanced.empty());
  EXPECT_EQ(basic.selectors->basic[0].read_write_type, "WriteOnly");
  EXPECT_FALSE(basic.selectors->basic[0].include_management_events);
  EXPECT_EQ(basic.selectors->basic[0].exclude_management_event_sources,
            (std::vector<std::string>{"kms.amazonaws.com", "rdsdata.amazonaws.com"}));
  // Omitted members take the documented defaults.
  EXPECT_EQ(basic.selectors->basic[1].read_write_type, "All");
  EXPECT_TRUE(basic.selectors->basic[1].include_management_events);
  EXPECT_TRUE(basic.selectors->basic[1].exclude_management_event_sources.empty());

  ASSERT_EQ(advanced.arn, advanced_arn);
  ASSERT_TRUE(advanced.selectors.ok()) << advanced.selectors.error().describe();
  EXPECT_TRUE(advanced.selectors->basic.empty());
  ASSERT_EQ(advanced.selectors->advanced.size(), 2U);
  const model::AdvancedEventSelector& first = advanced.selectors->advanced[0];
  EXPECT_EQ(first.name, "Management without KMS");
  ASSERT_EQ(first.field_selectors.size(), 2U);
  EXPECT_EQ(first.field_selectors[0].field, "eventCategory");
  EXPECT_EQ(first.field_selectors[0].equals, std::vector<std::string>{"Management"});
  const model::FieldSelector& source = first.field_selectors[1];
  EXPECT_EQ(source.field, "eventSource");
  EXPECT_EQ(source.not_equals, std::vector<std::string>{"kms.amazonaws.com"});
  EXPECT_EQ(source.starts_with, std::vector<std::string>{"a"});
  EXPECT_EQ(source.ends_with, std::vector<std::string>{"b"});
  EXPECT_EQ(source.not_starts_with, std::vector<std::string>{"c"});
  EXPECT_EQ(source.not_ends_with, (std::vector<std::string>{"d", "e"}));
  EXPECT_TRUE(source.equals.empty());
  EXPECT_EQ(advanced.selectors->advanced[1].name, "");
  ASSERT_EQ(advanced.selectors->advanced[1].field_selectors.size(), 1U);
  EXPECT_EQ(advanced.selectors->advanced[1].field_selectors[0].equals,
            std::vector<std::string>{"false"});
}

TEST_F(CollectorTest, AdvancedFieldSelectorWithoutFieldIsMalformed) {
  add_trail("us-east-1", "t", false, {"us-east-1"});
  const std::string arn = trail_arn("us-east-1", "t");
  world_.event_selectors[arn] = {
      {"AdvancedEventSelectors", {{{"FieldSelectors", {{{"Equals", {"Management"}}}}}}}}};
  auto trails = collect_trails(client_, pool_, "us-east-1");
  ASSERT_TRUE(trails.ok());
  ASSERT_EQ(trails->size(), 1U);
  ASSERT_FALSE(trails->at(0).selectors.ok());
  EXPECT_EQ(trails->at(0).selectors.error().kind, ErrorKind::kMalformed);
  EXPECT_EQ(trails->at(0).selectors.error().operation, "cloudtrail:GetEventSelectors");
  EXPECT_EQ(trails->at(0).selectors.error().resource, arn);
  EXPECT_TRUE(trails->at(0).status.ok());
}

TEST_F(CollectorTest, TrailStatusFailureStaysWithThatTrail) {
  add_trail("us-east-1", "denied", false, {"us-east-1"});
  add_trail("us-east-1", "readable", false, {"us-east-1"});
  const std::string denied_arn = trail_arn("us-east-1", "denied");
  fake_.fail_when(
      "cloudtrail:GetTrailStatus",
      [&](const FakeCall& call) { return call.input.value("Name", "") == denied_arn; },
      json_error(400, "AccessDeniedException", "not authorized: cloudtrail:GetTrailStatus"));
  // A status answer without IsLogging says nothing about logging.
  const std::string readable_arn = trail_arn("us-east-1", "readable");
  world_.trail_status[readable_arn] = {{"LatestDeliveryError", "AccessDenied"}};

  auto trails = collect_trails(client_, pool_, "us-east-1");
  ASSERT_TRUE(trails.ok()) << trails.error().describe();
  ASSERT_EQ(trails->size(), 2U);
  const model::Trail& denied = trails->at(0);
  ASSERT_EQ(denied.arn, denied_arn);
  ASSERT_FALSE(denied.status.ok());
  EXPECT_EQ(denied.status.error().operation, "cloudtrail:GetTrailStatus");
  EXPECT_EQ(denied.status.error().region, "us-east-1");
  EXPECT_EQ(denied.status.error().resource, denied_arn);
  EXPECT_EQ(denied.status.error().provider_code, "AccessDeniedException");
  EXPECT_TRUE(denied.selectors.ok());
  const model::Trail& readable = trails->at(1);
  ASSERT_FALSE(readable.status.ok());
  EXPECT_EQ(readable.status.error().kind, ErrorKind::kMalformed);
}

TEST_F(CollectorTest, TrailStatusCarriesDeliveryError) {
  add_trail("us-east-1", "t", false, {"us-east-1"});
  world_.trail_status[trail_arn("us-east-1", "t")] = {{"IsLogging", true},
                                                      {"LatestDeliveryError", "NoSuchBucket"}};
  auto trails = collect_trails(client_, pool_, "us-east-1");
  ASSERT_TRUE(trails.ok());
  ASSERT_EQ(trails->size(), 1U);
  ASSERT_TRUE(trails->at(0).status.ok());
  EXPECT_TRUE(trails->at(0).status->is_logging);
  EXPECT_EQ(trails->at(0).status->latest_delivery_error, "NoSuchBucket");
}

TEST_F(CollectorTest, DescribeTrailsFailureIsTheRegionsTrailsError) {
  fake_.fail("cloudtrail:DescribeTrails", "eu-west-1",
             json_error(400, "AccessDeniedException", "not authorized"));
  auto inventory = scan({"eu-west-1", "us-east-1"});
  ASSERT_TRUE(inventory.ok());
  const auto& west = region_of(*inventory, "eu-west-1");
  ASSERT_FALSE(west.trails.ok());
  EXPECT_EQ(west.trails.error().operation, "cloudtrail:DescribeTrails");
  EXPECT_EQ(west.trails.error().region, "eu-west-1");
  EXPECT_TRUE(region_of(*inventory, "us-east-1").trails.ok());
}

// ---- CloudHSM v2 ----

TEST_F(CollectorTest, CloudHsmClustersArePagedByNextToken) {
  for (int i = 59; i >= 0; --i) {
    const std::string id = "cluster-" + std::string(i < 10 ? "0" : "") + std::to_string(i);
    world_.clusters["us-east-1"].push_back(
        cluster_entry(id, "ACTIVE", {{"hsm-b", "ACTIVE"}, {"hsm-a", "DEGRADED"}}));
  }
  auto clusters = collect_cloudhsm_clusters(client_, "us-east-1");
  ASSERT_TRUE(clusters.ok()) << clusters.error().describe();
  ASSERT_EQ(clusters->size(), 60U);
  EXPECT_EQ(clusters->front().cluster_id, "cluster-00");
  EXPECT_EQ(clusters->back().cluster_id, "cluster-59");
  const auto pages = fake_.calls("cloudhsm:DescribeClusters");
  ASSERT_EQ(pages.size(), 3U);
  EXPECT_FALSE(pages[0].input.contains("NextToken"));
  EXPECT_EQ(pages[1].input.value("NextToken", ""), "token-25");
  EXPECT_EQ(pages[2].input.value("NextToken", ""), "token-50");

  const model::CloudHsmCluster& cluster = clusters->front();
  EXPECT_EQ(cluster.state, "ACTIVE");
  EXPECT_EQ(cluster.mode, "FIPS");
  EXPECT_EQ(cluster.hsm_type, "hsm2m.medium");
  ASSERT_EQ(cluster.hsms.size(), 2U);
  EXPECT_EQ(cluster.hsms[0].hsm_id, "hsm-a");
  EXPECT_EQ(cluster.hsms[0].state, "DEGRADED");
  EXPECT_EQ(cluster.hsms[0].availability_zone, "us-east-1a");
  EXPECT_EQ(cluster.hsms[1].hsm_id, "hsm-b");
}

TEST_F(CollectorTest, CloudHsmEmptyPageWithTokenKeepsPaging) {
  fake_.on("cloudhsm:DescribeClusters", [](const FakeCall& call) {
    if (!call.input.contains("NextToken")) {
      return json_answer({{"Clusters", json::array()}, {"NextToken", "more"}});
    }
    return json_answer({{"Clusters", {cluster_entry("cluster-1", "UNINITIALIZED", {})}}});
  });
  auto clusters = collect_cloudhsm_clusters(client_, "us-east-1");
  ASSERT_TRUE(clusters.ok()) << clusters.error().describe();
  ASSERT_EQ(clusters->size(), 1U);
  EXPECT_EQ(clusters->at(0).state, "UNINITIALIZED");
  EXPECT_TRUE(clusters->at(0).hsms.empty());
}

TEST_F(CollectorTest, CloudHsmServerFailureIsAnErrorOfThatRegion) {
  fake_.fail("cloudhsm:DescribeClusters", "ap-east-2",
             json_error(500, "CloudHsmInternalFailureException", "internal failure"));
  auto inventory = scan({"ap-east-2", "us-east-1"});
  ASSERT_TRUE(inventory.ok());
  const auto& failed = region_of(*inventory, "ap-east-2");
  ASSERT_FALSE(failed.cloudhsm_clusters.ok());
  const Error& error = failed.cloudhsm_clusters.error();
  EXPECT_EQ(error.kind, ErrorKind::kHttp);
  EXPECT_EQ(error.operation, "cloudhsm:DescribeClusters");
  EXPECT_EQ(error.region, "ap-east-2");
  EXPECT_EQ(error.http_status, 500);
  EXPECT_EQ(error.provider_code, "CloudHsmInternalFailureException");
  EXPECT_TRUE(region_of(*inventory, "us-east-1").cloudhsm_clusters.ok());
}

// ---- account and scope ----

TEST_F(CollectorTest, RegionsComeFromDescribeRegionsWithoutDisabledOnes) {
  world_.regions = {{"us-west-2", "opt-in-not-required"},
                    {"af-south-1", "not-opted-in"},
                    {"ap-east-1", "opted-in"},
                    {"eu-west-1", "opt-in-not-required"},
                    {"me-south-1", "not-opted-in"}};
  CollectOptions options;
  options.default_region = "eu-central-1";
  auto inventory = collect_inventory(client_, pool_, options);
  ASSERT_TRUE(inventory.ok()) << inventory.error().describe();
  EXPECT_EQ(inventory->account, kAccount);
  EXPECT_EQ(inventory->caller_arn, kCallerArn);
  EXPECT_TRUE(inventory->scope_errors.empty());
  std::vector<std::string> regions;
  for (const auto& entry : inventory->regions) {
    regions.push_back(entry.region);
    EXPECT_EQ(entry.account, kAccount);
  }
  EXPECT_EQ(regions, (std::vector<std::string>{"ap-east-1", "eu-west-1", "us-west-2"}));
  const auto describe = fake_.calls("ec2:DescribeRegions");
  ASSERT_EQ(describe.size(), 1U);
  EXPECT_EQ(describe[0].region, "eu-central-1");
  const auto identity = fake_.calls("sts:GetCallerIdentity");
  ASSERT_EQ(identity.size(), 1U);
  EXPECT_EQ(identity[0].region, "eu-central-1");
  EXPECT_EQ(fake_.calls("kms:ListKeys").size(), 3U);
}

TEST_F(CollectorTest, ExplicitRegionsAreSortedDeduplicatedAndSkipDescribeRegions) {
  auto inventory = scan({"us-east-1", "eu-west-1", "us-east-1"});
  ASSERT_TRUE(inventory.ok());
  ASSERT_EQ(inventory->regions.size(), 2U);
  EXPECT_EQ(inventory->regions[0].region, "eu-west-1");
  EXPECT_EQ(inventory->regions[1].region, "us-east-1");
  EXPECT_TRUE(fake_.calls("ec2:DescribeRegions").empty());
}

TEST_F(CollectorTest, CredentialRejectionAtStsIsACredentialsError) {
  fake_.fail("sts:GetCallerIdentity", "us-east-1",
             sts_error(403, "InvalidClientTokenId",
                       "The security token included in the request is invalid."));
  auto inventory = scan({"us-east-1"});
  ASSERT_FALSE(inventory.ok());
  const Error& error = inventory.error();
  EXPECT_EQ(error.kind, ErrorKind::kCredentials);
  EXPECT_EQ(error.operation, "sts:GetCallerIdentity");
  EXPECT_EQ(error.provider_code, "InvalidClientTokenId");
  EXPECT_EQ(error.http_status, 403);
  EXPECT_NE(error.message.find("AWS rejected the credentials from environment variables"),
            std::string::npos)
      << error.message;
  EXPECT_NE(error.message.find("InvalidClientTokenId"), std::string::npos);
  EXPECT_EQ(error.describe().find(kSecretKey), std::string::npos);
  // Nothing else was attempted with rejected credentials.
  EXPECT_EQ(fake_.total_calls(), 1U);
}

TEST_F(CollectorTest, SignatureMismatchAtStsIsACredentialsError) {
  fake_.fail("sts:GetCallerIdentity", "us-east-1",
             sts_error(403, "SignatureDoesNotMatch",
                       "The request signature we calculated does "
                       "not match the signature you provided."));
  auto inventory = scan({"us-east-1"});
  ASSERT_FALSE(inventory.ok());
  EXPECT_EQ(inventory.error().kind, ErrorKind::kCredentials);
}

TEST(CollectorCredentials, UnavailableCredentialsAreACredentialsError) {
  FakeEnvironment env;
  FakeAws fake;
  World world;
  serve_world(fake, world);
  FixedClock clock{std::chrono::sys_days{std::chrono::year{2024} / 1 / 15}};
  AwsClient client(env, fake, clock, std::make_shared<MissingCredentials>());
  TaskPool pool(2);
  auto inventory = collect_inventory(client, pool, CollectOptions{});
  ASSERT_FALSE(inventory.ok());
  EXPECT_EQ(inventory.error().kind, ErrorKind::kCredentials);
  EXPECT_EQ(inventory.error().operation, "sts:GetCallerIdentity");
  EXPECT_EQ(fake.total_calls(), 0U);
}

TEST_F(CollectorTest, OtherStsFailureIsReturnedAsItIs) {
  fake_.fail("sts:GetCallerIdentity", "us-east-1",
             sts_error(400, "RegionDisabledException", "STS is not activated in this region"));
  auto inventory = scan({"us-east-1"});
  ASSERT_FALSE(inventory.ok());
  EXPECT_EQ(inventory.error().kind, ErrorKind::kHttp);
  EXPECT_EQ(inventory.error().operation, "sts:GetCallerIdentity");
  EXPECT_EQ(inventory.error().region, "us-east-1");
  EXPECT_EQ(inventory.error().provider_code, "RegionDisabledException");
}

TEST_F(CollectorTest, DescribeRegionsDeniedIsAScopeError) {
  fake_.fail(
      "ec2:DescribeRegions", "us-east-1",
      ec2_error(403, "UnauthorizedOperation", "You are not authorized to perform this operation."));
  auto inventory = collect_inventory(client_, pool_, CollectOptions{});
  ASSERT_TRUE(inventory.ok()) << inventory.error().describe();
  EXPECT_EQ(inventory->account, kAccount);
  EXPECT_TRUE(inventory->regions.empty());
  ASSERT_EQ(inventory->scope_errors.size(), 1U);
  EXPECT_EQ(inventory->scope_errors[0].operation, "ec2:DescribeRegions");
  EXPECT_EQ(inventory->scope_errors[0].region, "us-east-1");
  EXPECT_EQ(inventory->scope_errors[0].provider_code, "UnauthorizedOperation");
  EXPECT_TRUE(fake_.calls("kms:ListKeys").empty());
}

// ---- concurrency and progress ----

TEST_F(CollectorTest, CallsRunConcurrentlyWithinThePoolBound) {
  fake_.delay = std::chrono::milliseconds(20);
  for (int i = 0; i < 100; ++i) {
    world_.add_key("us-east-1", "east-" + std::to_string(i));
    world_.add_key("eu-west-1", "west-" + std::to_string(i));
  }
  auto inventory = scan({"us-east-1", "eu-west-1"});
  ASSERT_TRUE(inventory.ok());
  for (const auto& region : inventory->regions) {
    ASSERT_TRUE(region.kms_keys.ok());
    ASSERT_EQ(region.kms_keys->size(), 100U);
    for (const auto& key : *region.kms_keys) EXPECT_TRUE(key.metadata.ok());
  }
  EXPECT_GT(fake_.max_in_flight(), 1);
  // Keys of one region are described in parallel too, not only the two regions side by side.
  EXPECT_GT(fake_.max_describe_key_in_flight(), 2);
  // The pool's workers plus the calling thread, which helps while it waits.
  EXPECT_LE(fake_.max_in_flight(), static_cast<int>(pool_.size()) + 1);
}

TEST_F(CollectorTest, ProgressReportsEveryCompletedCallOnce) {
  for (int i = 0; i < 20; ++i) world_.add_key("us-east-1", "key-" + std::to_string(i));
  add_trail("us-east-1", "t", true, {"us-east-1", "eu-west-1"});
  std::mutex mutex;
  std::vector<std::pair<std::size_t, std::size_t>> reports;
  CollectOptions options;
  auto inventory =
      collect_inventory(client_, pool_, options, [&](std::size_t done, std::size_t known) {
        std::lock_guard lock(mutex);
        reports.emplace_back(done, known);
      });
  ASSERT_TRUE(inventory.ok());
  const std::size_t total = fake_.total_calls();
  ASSERT_EQ(reports.size(), total);
  std::set<std::size_t> done_values;
  for (const auto& [done, known] : reports) {
    EXPECT_LE(done, known);
    EXPECT_LE(known, total);
    done_values.insert(done);
  }
  EXPECT_EQ(done_values.size(), total);
  EXPECT_EQ(*done_values.begin(), 1U);
  EXPECT_EQ(*done_values.rbegin(), total);
}

TEST_F(CollectorTest, InventoryIsIdenticalAcrossRuns) {
  for (int i = 0; i < 30; ++i) world_.add_key("us-east-1", "key-" + std::to_string(29 - i));
  add_trail("eu-west-1", "b", true, {"us-east-1", "eu-west-1"});
  add_trail("us-east-1", "a", true, {"us-east-1", "eu-west-1"});
  world_.clusters["eu-west-1"] = {cluster_entry("cluster-b", "ACTIVE", {}),
                                  cluster_entry("cluster-a", "ACTIVE", {})};
  const auto flatten = [](const model::AwsInventory& inventory) {
    std::string out;
    for (const auto& region : inventory.regions) {
      out += region.region + ";";
      for (const auto& key : region.kms_keys.value()) out += key.arn + ",";
      for (const auto& trail : region.trails.value()) out += trail.arn + ",";
      for (const auto& cluster : region.cloudhsm_clusters.value()) out += cluster.cluster_id + ",";
    }
    return out;
  };
  auto first = scan({"us-east-1", "eu-west-1"});
  auto second = scan({"eu-west-1", "us-east-1"});
  ASSERT_TRUE(first.ok());
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(flatten(*first), flatten(*second));
  const auto& west = region_of(*first, "eu-west-1");
  EXPECT_EQ(west.cloudhsm_clusters->at(0).cluster_id, "cluster-a");
  EXPECT_EQ(west.trails->at(0).arn, trail_arn("eu-west-1", "b"));
}

}  // namespace
}  // namespace hsmproof::aws
