// The query-protocol services, answering in XML: STS (GetCallerIdentity, AssumeRole,
// AssumeRoleWithWebIdentity) and EC2 (DescribeRegions). AssumeRole issues real temporary
// credentials for any scenario account; the front end then accepts them with their token.

#include <algorithm>
#include <array>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include "sandbox/aws_common.h"

namespace hsmproof::sandbox::aws_impl {

namespace {

constexpr const char* kStsNamespace = "https://sts.amazonaws.com/doc/2011-06-15/";
constexpr const char* kEc2Namespace = "http://ec2.amazonaws.com/doc/2016-11-15/";
constexpr std::int64_t kDefaultDuration = 3600;
constexpr std::int64_t kMinDuration = 900;
constexpr std::int64_t kMaxDuration = 43200;
// The sandbox's roles keep IAM's default MaxSessionDuration.
constexpr std::int64_t kRoleMaxSessionDuration = 3600;

// Regions that have existed since before opt-in; every other enabled region is "opted-in".
constexpr std::array<const char*, 17> kRegionsWithoutOptIn = {
    "us-east-1",      "us-east-2",      "us-west-1",      "us-west-2",      "ap-south-1",
    "ap-northeast-1", "ap-northeast-2", "ap-northeast-3", "ap-southeast-1", "ap-southeast-2",
    "ca-central-1",   "eu-central-1",   "eu-west-1",      "eu-west-2",      "eu-west-3",
    "eu-north-1",     "sa-east-1"};

std::optional<std::string> param(const std::map<std::string, std::string>& params,
                                 const std::string& name) {
  auto found = params.find(name);
  if (found == params.end()) return std::nullopt;
  return found->second;
}

AwsError sts_validation(const std::string& message) {
  return AwsError{400, "ValidationError", message};
}

std::string wrap_sts(const std::string& operation, const std::string& result,
                     const std::string& request_id) {
  return "<" + operation + "Response xmlns=\"" + kStsNamespace + "\">\n  <" + operation +
         "Result>\n" + result + "  </" + operation +
         "Result>\n  <ResponseMetadata>\n    <RequestId>" + request_id +
         "</RequestId>\n  </ResponseMetadata>\n</" + operation + "Response>\n";
}

std::string element(const std::string& name, const std::string& value,
                    const char* indent = "    ") {
  return std::string(indent) + "<" + name + ">" + xml_escape(value) + "</" + name + ">\n";
}

// ---- AssumeRole family ----

struct RoleTarget {
  const AwsAccountSpec* account = nullptr;
  std::string role_arn;
  std::string role_name;  // last path segment
};

RoleTarget parse_role_arn(const Scenario& scenario, const std::optional<std::string>& role_arn,
                          const std::string& caller_arn, const std::string& action) {
  if (!role_arn) {
    throw sts_validation(
        "1 validation error detected: Value null at 'roleArn' failed to satisfy "
        "constraint: Member must not be null");
  }
  if (role_arn->size() < 20) {
    throw sts_validation("1 validation error detected: Value '" + *role_arn +
                         "' at 'roleArn' failed to satisfy constraint: Member must have length "
                         "greater than or equal to 20");
  }
  static const std::regex kRoleArn(
      R"(arn:aws:iam::(\d{12}):role/((?:[\w+=,.@-]+/)*)([\w+=,.@-]{1,64}))");
  std::smatch match;
  if (!std::regex_match(*role_arn, match, kRoleArn)) {
    throw sts_validation(*role_arn + " is invalid");
  }
  RoleTarget target;
  target.role_arn = *role_arn;
  target.role_name = match[3].str();
  target.account = find_account(scenario, match[1].str());
  if (target.account == nullptr) {
    const std::string who = caller_arn.empty() ? "Not authorized to perform " + action
                                               : "User: " + caller_arn +
                                                     " is not authorized to perform: " + action +
                                                     " on resource: " + *role_arn;
    throw AwsError{403, "AccessDenied", who};
  }
  return target;
}

std::string session_name(const std::optional<std::string>& name) {
  if (!name) {
    throw sts_validation(
        "1 validation error detected: Value null at 'roleSessionName' failed to "
        "satisfy constraint: Member must not be null");
  }
  if (name->size() < 2 || name->size() > 64) {
    throw sts_validation(
        "1 validation error detected: Value '" + *name +
        "' at 'roleSessionName' failed to satisfy constraint: Member must have "
        "length " +
        (name->size() < 2 ? "greater than or equal to 2" : "less than or equal to 64"));
  }
  static const std::regex kPattern(R"([\w+=,.@-]*)");
  if (!std::regex_match(*name, kPattern)) {
    throw sts_validation("1 validation error detected: Value '" + *name +
                         "' at 'roleSessionName' failed to satisfy constraint: Member must "
                         "satisfy regular expression pattern: [\\w+=,.@-]*");
  }
  return *name;
}

std::int64_t duration_seconds(const std::optional<std::string>& text, bool role_chaining) {
  if (!text) return kDefaultDuration;
  std::int64_t value = 0;
  try {
    std::size_t used = 0;
    value = std::stoll(*text, &used);
    if (used != text->size()) throw std::invalid_argument("trailing text");
  } catch (const std::exception&) {
    throw sts_validation(
        "1 validation error detected: Value '" + *text +
        "' at 'durationSeconds' failed to satisfy constraint: Member must be a number");
  }
  if (value < kMinDuration || value > kMaxDuration) {
    throw sts_validation(
        "1 validation error detected: Value '" + *text +
        "' at 'durationSeconds' failed to satisfy constraint: Member must have "
        "value " +
        (value < kMinDuration ? "greater than or equal to 900" : "less than or equal to 43200"));
  }
  if (role_chaining && value > kRoleMaxSessionDuration) {
    throw sts_validation(
        "The requested DurationSeconds exceeds the 1 hour session limit for roles "
        "assumed by role chaining.");
  }
  if (value > kRoleMaxSessionDuration) {
    throw sts_validation(
        "The requested DurationSeconds exceeds the MaxSessionDuration set for "
        "this role.");
  }
  return value;
}

Session new_session(const RoleTarget& target, const std::string& name, std::int64_t duration) {
  static const std::string kKeyAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  static const std::string kSecretAlphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  Session session;
  session.access_key_id = "ASIA" + random_text(16, kKeyAlphabet);
  session.secret_access_key = random_text(40, kSecretAlphabet);
  session.session_token = "FwoGZXIvYXdzE" + random_text(344, kSecretAlphabet);
  session.account_id = target.account->account_id;
  session.role_arn = target.role_arn;
  std::string role_id = "AROA";
  for (char c : derived_hex("role:" + target.role_arn, 17)) {
    role_id += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  }
  session.assumed_role_id = role_id + ":" + name;
  session.assumed_role_arn = "arn:aws:sts::" + target.account->account_id + ":assumed-role/" +
                             target.role_name + "/" + name;
  session.expiration = std::chrono::system_clock::now() + std::chrono::seconds(duration);
  return session;
}

std::int64_t epoch_of(std::chrono::system_clock::time_point time) {
  return std::chrono::duration_cast<std::chrono::seconds>(time.time_since_epoch()).count();
}

std::string credentials_xml(const Session& session) {
  return "    <Credentials>\n" + element("AccessKeyId", session.access_key_id, "      ") +
         element("SecretAccessKey", session.secret_access_key, "      ") +
         element("SessionToken", session.session_token, "      ") +
         element("Expiration", iso8601(epoch_of(session.expiration)), "      ") +
         "    </Credentials>\n";
}

std::string assumed_role_user_xml(const Session& session) {
  return "    <AssumedRoleUser>\n" + element("AssumedRoleId", session.assumed_role_id, "      ") +
         element("Arn", session.assumed_role_arn, "      ") + "    </AssumedRoleUser>\n";
}

std::string assume_role(AwsCall& call) {
  const RoleTarget target = parse_role_arn(call.context.scenario(), param(call.params, "RoleArn"),
                                           call.caller.arn, "sts:AssumeRole");
  const std::string name = session_name(param(call.params, "RoleSessionName"));
  const std::int64_t duration =
      duration_seconds(param(call.params, "DurationSeconds"), call.caller.temporary);
  const std::optional<std::string> external_id = param(call.params, "ExternalId");
  if (external_id) {
    static const std::regex kPattern(R"([\w+=,.@:/-]*)");
    if (external_id->size() < 2 || external_id->size() > 1224 ||
        !std::regex_match(*external_id, kPattern)) {
      throw sts_validation(
          "1 validation error detected: Value at 'externalId' failed to satisfy "
          "constraint: Member must have length between 2 and 1224 and satisfy "
          "regular expression pattern: [\\w+=,.@:\\/-]*");
    }
  }
  Session session = new_session(target, name, duration);
  session.external_id = external_id.value_or("");
  std::string result = assumed_role_user_xml(session) + credentials_xml(session);
  if (const std::optional<std::string> source = param(call.params, "SourceIdentity")) {
    result += element("SourceIdentity", *source);
  }
  sessions_of(call.context)->add(session);
  return wrap_sts("AssumeRole", result, call.request_id);
}

std::string get_caller_identity(const AwsCall& call) {
  const std::string result = element("Arn", call.caller.arn) +
                             element("UserId", call.caller.user_id) +
                             element("Account", call.caller.account->account_id);
  return wrap_sts("GetCallerIdentity", result, call.request_id);
}

// ---- EC2 ----

std::vector<std::string> numbered(const std::map<std::string, std::string>& params,
                                  const std::string& prefix) {
  std::vector<std::string> values;
  for (int i = 1;; ++i) {
    auto found = params.find(prefix + "." + std::to_string(i));
    if (found == params.end()) break;
    values.push_back(found->second);
  }
  return values;
}

bool parse_boolean(const std::optional<std::string>& text, const char* name) {
  if (!text) return false;
  if (*text == "true") return true;
  if (*text == "false") return false;
  throw AwsError{
      400, "InvalidParameterValue",
      "Value (" + *text + ") for parameter " + name + " is invalid. Expected: 'true' or 'false'."};
}

std::string describe_regions(const AwsCall& call) {
  const AwsAccountSpec& account = *call.caller.account;
  const bool all_regions = parse_boolean(param(call.params, "AllRegions"), "AllRegions");
  const bool dry_run = parse_boolean(param(call.params, "DryRun"), "DryRun");

  struct Region {
    std::string name;
    std::string opt_in;
  };
  std::vector<Region> regions;
  std::set<std::string> seen;
  for (const std::string& name : account.enabled_regions) {
    if (!seen.insert(name).second) continue;
    const bool no_opt_in = std::find(kRegionsWithoutOptIn.begin(), kRegionsWithoutOptIn.end(),
                                     name) != kRegionsWithoutOptIn.end();
    regions.push_back({name, no_opt_in ? "opt-in-not-required" : "opted-in"});
  }
  for (const std::string& name : account.disabled_regions) {
    if (seen.insert(name).second) regions.push_back({name, "not-opted-in"});
  }
  std::sort(regions.begin(), regions.end(),
            [](const Region& a, const Region& b) { return a.name < b.name; });

  const std::vector<std::string> names = numbered(call.params, "RegionName");
  for (const std::string& name : names) {
    if (seen.count(name) == 0) {
      throw AwsError{400, "InvalidParameterValue", "Invalid region: " + name};
    }
  }
  struct Filter {
    std::string name;
    std::vector<std::string> values;
  };
  std::vector<Filter> filters;
  for (int i = 1;; ++i) {
    const std::string prefix = "Filter." + std::to_string(i);
    auto found = call.params.find(prefix + ".Name");
    if (found == call.params.end()) break;
    if (found->second != "region-name" && found->second != "endpoint" &&
        found->second != "opt-in-status") {
      throw AwsError{400, "InvalidParameterValue", "The filter '" + found->second + "' is invalid"};
    }
    filters.push_back({found->second, numbered(call.params, prefix + ".Value")});
  }
  if (dry_run) {
    throw AwsError{412, "DryRunOperation", "Request would have succeeded, but DryRun flag is set."};
  }

  std::string items;
  for (const Region& region : regions) {
    const bool named = std::find(names.begin(), names.end(), region.name) != names.end();
    // Named regions are listed whatever their status; otherwise only enabled ones, unless all
    // regions were asked for.
    if (!names.empty() && !named) continue;
    if (names.empty() && !all_regions && region.opt_in == "not-opted-in") continue;
    const std::string endpoint = "ec2." + region.name + ".amazonaws.com";
    bool keep = true;
    for (const Filter& filter : filters) {
      const std::string& field = filter.name == "region-name" ? region.name
                                 : filter.name == "endpoint"  ? endpoint
                                                              : region.opt_in;
      if (std::find(filter.values.begin(), filter.values.end(), field) == filter.values.end()) {
        keep = false;
      }
    }
    if (!keep) continue;
    items += "        <item>\n" + element("regionName", region.name, "            ") +
             element("regionEndpoint", endpoint, "            ") +
             element("optInStatus", region.opt_in, "            ") + "        </item>\n";
  }
  return std::string(
             "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<DescribeRegionsResponse xmlns=\"") +
         kEc2Namespace + "\">\n    <requestId>" + call.request_id +
         "</requestId>\n    <regionInfo>\n" + items +
         "    </regionInfo>\n</DescribeRegionsResponse>\n";
}

}  // namespace

std::string sts_operation(AwsCall& call) {
  if (call.operation == "GetCallerIdentity") return get_caller_identity(call);
  if (call.operation == "AssumeRole") return assume_role(call);
  throw unknown_operation(call);
}

std::string ec2_operation(AwsCall& call) {
  if (call.operation == "DescribeRegions") return describe_regions(call);
  throw unknown_operation(call);
}

std::string sts_assume_role_with_web_identity(const SandboxRequest& /*request*/,
                                              SandboxContext& context,
                                              const std::map<std::string, std::string>& params,
                                              const std::string& request_id) {
  const std::optional<std::string> token = param(params, "WebIdentityToken");
  if (!token) {
    throw sts_validation(
        "1 validation error detected: Value null at 'webIdentityToken' failed to "
        "satisfy constraint: Member must not be null");
  }
  if (token->size() < 4 || token->size() > 20000) {
    throw sts_validation(
        "1 validation error detected: Value at 'webIdentityToken' failed to "
        "satisfy constraint: Member must have length between 4 and 20000");
  }
  const RoleTarget target = parse_role_arn(context.scenario(), param(params, "RoleArn"), "",
                                           "sts:AssumeRoleWithWebIdentity");
  const std::string name = session_name(param(params, "RoleSessionName"));
  const std::int64_t duration = duration_seconds(param(params, "DurationSeconds"), false);
  // The sandbox is the only identity provider it trusts: the token must be one it issued.
  const std::optional<std::string> audience = context.token_audience(*token);
  if (!audience) {
    throw AwsError{400, "InvalidIdentityToken",
                   "Couldn't retrieve verification key from your identity provider,  please "
                   "reference AssumeRoleWithWebIdentity documentation for requirements"};
  }
  Session session = new_session(target, name, duration);
  std::string provider = context.base_url();
  if (const std::size_t scheme = provider.find("://"); scheme != std::string::npos) {
    provider.erase(0, scheme + 3);
  }
  const std::string result =
      element("SubjectFromWebIdentityToken", "sandbox-" + derived_hex("subject:" + *token, 16)) +
      element("Audience", *audience) + assumed_role_user_xml(session) + credentials_xml(session) +
      element("Provider", provider);
  sessions_of(context)->add(session);
  return wrap_sts("AssumeRoleWithWebIdentity", result, request_id);
}

}  // namespace hsmproof::sandbox::aws_impl
