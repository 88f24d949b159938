#include "sandbox/faults.h"
#include "core/text.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <nlohmann/json.hpp>

namespace hsmproof::sandbox {

namespace {

using nlohmann::json;

std::string lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text;
}

bool starts_with(const std::string& text, std::string_view prefix) {
  return text.size() >= prefix.size() && text.compare(0, prefix.size(), prefix) == 0;
}

// The segment after `marker` in a lower-cased path, cut from the original (names keep case).
std::string segment_after(const std::string& path, const std::string& lower_path,
                          const std::string& marker) {
  const std::size_t at = lower_path.find(marker);
  if (at == std::string::npos) return "";
  const std::size_t start = at + marker.size();
  const std::size_t end = path.find('/', start);
  return path.substr(start, end == std::string::npos ? std::string::npos : end - start);
}

// The message member of a JSON error: the models of CloudTrail, CloudHSM v2 and Organizations
// spell it "Message", KMS and the AWS front end "message".
std::string message_member(const std::string& service) {
  return service == "kms" ? "message" : "Message";
}

SandboxResponse aws_json_error(SandboxContext& context, int status, const std::string& code,
                               const std::string& member, const std::string& message) {
  SandboxResponse response;
  response.status = status;
  response.headers.set("Content-Type", "application/x-amz-json-1.1");
  response.headers.set("x-amzn-RequestId", context.new_request_id());
  response.body = json{{"__type", code}, {member, message}}.dump();
  return response;
}

SandboxResponse sts_error(SandboxContext& context, int status, const std::string& type,
                          const std::string& code, const std::string& message) {
  const std::string request_id = context.new_request_id();
  SandboxResponse response;
  response.status = status;
  response.headers.set("Content-Type", "text/xml");
  response.headers.set("x-amzn-RequestId", request_id);
  response.body = fmt::format(
      "<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">\n"
      "  <Error>\n    <Type>{}</Type>\n    <Code>{}</Code>\n    <Message>{}</Message>\n"
      "  </Error>\n  <RequestId>{}</RequestId>\n</ErrorResponse>\n",
      type, code, xml_escape(message), request_id);
  return response;
}

SandboxResponse ec2_error(SandboxContext& context, int status, const std::string& code,
                          const std::string& message) {
  const std::string request_id = context.new_request_id();
  SandboxResponse response;
  response.status = status;
  response.headers.set("Content-Type", "text/xml;charset=UTF-8");
  response.headers.set("x-amzn-RequestId", request_id);
  response.body = fmt::format(
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Response><Errors><Error><Code>{}</Code>"
      "<Message>{}</Message></Error></Errors><RequestID>{}</RequestID></Response>",
      code, xml_escape(message), request_id);
  return response;
}

SandboxResponse azure_error(SandboxContext& context, int status, const std::string& code,
                            const std::string& message, json inner_error = nullptr) {
  const std::string request_id = context.new_request_id();
  SandboxResponse response;
  response.status = status;
  response.headers.set("Content-Type", "application/json; charset=utf-8");
  response.headers.set("x-ms-request-id", request_id);
  response.headers.set("x-ms-correlation-request-id", request_id);
  json error = {{"code", code}, {"message", message}};
  if (!inner_error.is_null()) error["innererror"] = std::move(inner_error);
  response.body = json{{"error", std::move(error)}}.dump();
  return response;
}

// Entra ID answers in OAuth's own shape, not ARM's.
SandboxResponse entra_error(SandboxContext& context, int status, const std::string& error,
                            int aadsts, const std::string& description) {
  const std::string request_id = context.new_request_id();
  SandboxResponse response;
  response.status = status;
  response.headers.set("Content-Type", "application/json; charset=utf-8");
  response.headers.set("x-ms-request-id", request_id);
  response.body = json{
      {"error", error},
      {"error_description",
       fmt::format("AADSTS{}: {} Trace ID: {}", aadsts, description, request_id)},
      {"error_codes", json::array({aadsts})},
      {"trace_id", request_id},
      {"correlation_id",
       request_id}}.dump();
  return response;
}

std::string aws_caller_arn(const RequestRoute& route, const Scenario& scenario) {
  std::string account_id = "000000000000";
  for (const auto& account : scenario.aws_accounts) {
    if (account.access_key_id == route.principal) {
      account_id = account.account_id;
      break;
    }
  }
  if (account_id == "000000000000" && !scenario.aws_accounts.empty()) {
    account_id = scenario.aws_accounts.front().account_id;
  }
  return "arn:aws:iam::" + account_id + ":user/hsmproof-sandbox";
}

// "Microsoft.KeyVault/vaults/read" from the path's last provider segment and the method, as
// ARM names the action an authorization failure was about.
std::string arm_action(const RequestRoute& route) {
  const std::string& path = route.operation;
  const std::size_t at = lower(path).rfind("/providers/");
  std::string verb = route.method == "GET" || route.method == "HEAD" ? "read"
                     : route.method == "DELETE"                      ? "delete"
                     : route.method == "POST"                        ? "action"
                                                                     : "write";
  if (at == std::string::npos) return "Microsoft.Resources/subscriptions/" + verb;
  std::vector<std::string> segments;
  std::size_t start = at + 11;
  while (start < path.size()) {
    const std::size_t end = std::min(path.find('/', start), path.size());
    if (end > start) segments.push_back(path.substr(start, end - start));
    start = end + 1;
  }
  if (segments.empty()) return "Microsoft.Resources/subscriptions/" + verb;
  std::string action = segments.front();
  for (std::size_t i = 1; i < segments.size(); i += 2) action += "/" + segments[i];
  // A POST names its action in the last segment even where it sits at a name's position.
  if (verb == "action" && segments.size() % 2 == 1 && segments.size() > 1) {
    action += "/" + segments.back();
  }
  return action + "/" + verb;
}

bool is_managed_identity_path(const std::string& path) {
  return starts_with(path, "/metadata/identity/") || starts_with(path, "/msi/");
}

}  // namespace

const std::vector<std::string>& sandbox_service_names() {
  static const std::vector<std::string> names = {"kms",   "cloudtrail",    "cloudhsm", "sts",
                                                 "ec2",   "organizations", "arm",      "keyvault",
                                                 "entra", "policy",        "monitor"};
  return names;
}

std::string provider_of_service(const std::string& service) {
  const auto& names = sandbox_service_names();
  const auto it = std::find(names.begin(), names.end(), service);
  if (it == names.end()) return "";
  return it - names.begin() < 6 ? "aws" : "azure";
}

std::string decode_url_component(std::string_view text, bool plus_is_space) {
  const auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '%' && i + 2 < text.size() && hex(text[i + 1]) >= 0 && hex(text[i + 2]) >= 0) {
      out += static_cast<char>(hex(text[i + 1]) * 16 + hex(text[i + 2]));
      i += 2;
    } else if (c == '+' && plus_is_space) {
      out += ' ';
    } else {
      out += c;
    }
  }
  return out;
}

std::vector<std::pair<std::string, std::string>> decode_form_pairs(std::string_view text) {
  std::vector<std::pair<std::string, std::string>> pairs;
  std::size_t start = 0;
  while (start <= text.size()) {
    const std::size_t end = std::min(text.find('&', start), text.size());
    const std::string_view item = text.substr(start, end - start);
    if (!item.empty()) {
      const std::size_t equals = item.find('=');
      if (equals == std::string_view::npos) {
        pairs.emplace_back(decode_url_component(item, true), "");
      } else {
        pairs.emplace_back(decode_url_component(item.substr(0, equals), true),
                           decode_url_component(item.substr(equals + 1), true));
      }
    }
    start = end + 1;
  }
  return pairs;
}

RequestRoute classify_request(const SandboxRequest& request) {
  RequestRoute route;
  route.method = request.method;

  std::string credential;
  if (const std::string* authorization = request.headers.find("Authorization");
      authorization != nullptr && starts_with(*authorization, "AWS4-HMAC-SHA256")) {
    const std::size_t at = authorization->find("Credential=");
    if (at != std::string::npos) {
      const std::size_t start = at + 11;
      const std::size_t end = authorization->find_first_of(", ", start);
      credential = authorization->substr(start, end == std::string::npos ? end : end - start);
    }
  } else if (auto presigned = request.query_param("X-Amz-Credential")) {
    credential = *presigned;
  }

  std::string action;
  if (const std::string* content_type = request.headers.find("Content-Type");
      content_type != nullptr &&
      lower(*content_type).find("application/x-www-form-urlencoded") != std::string::npos) {
    for (const auto& [name, value] : decode_form_pairs(request.body)) {
      if (name == "Action") action = value;
    }
  }
  if (action.empty()) {
    if (auto from_query = request.query_param("Action")) action = *from_query;
  }

  if (!credential.empty()) {
    // AKID/yyyymmdd/region/service/aws4_request
    std::vector<std::string> parts;
    std::size_t start = 0;
    while (start <= credential.size()) {
      const std::size_t end = std::min(credential.find('/', start), credential.size());
      parts.push_back(credential.substr(start, end - start));
      start = end + 1;
    }
    route.provider = "aws";
    if (parts.size() == 5) {
      route.principal = parts[0];
      route.region = parts[2];
      route.service = parts[3];
    }
    if (const std::string* target = request.headers.find("X-Amz-Target")) {
      const std::size_t dot = target->rfind('.');
      route.operation = dot == std::string::npos ? *target : target->substr(dot + 1);
    } else {
      route.operation = action;
    }
    return route;
  }
  if (action == "AssumeRoleWithWebIdentity" || action == "AssumeRoleWithSAML") {
    route.provider = "aws";
    route.service = "sts";
    route.operation = action;
    return route;
  }

  route.provider = "azure";
  route.operation = request.path;
  const std::string path = lower(request.path);
  if (starts_with(path, "/_kv/") || starts_with(path, "/_mhsm/")) {
    route.service = "keyvault";
    const std::size_t start = path.find('/', 1) + 1;
    const std::size_t end = path.find('/', start);
    route.resource = request.path.substr(start, end == std::string::npos ? end : end - start);
    return route;
  }
  if (is_managed_identity_path(path) || path.find("/oauth2/") != std::string::npos ||
      path.find("/.well-known/openid-configuration") != std::string::npos ||
      starts_with(path, "/common/discovery/")) {
    route.service = "entra";
    return route;
  }
  route.principal = segment_after(request.path, path, "/subscriptions/");
  if (path.find("/providers/microsoft.policyinsights/") != std::string::npos ||
      path.find("/providers/microsoft.authorization/policy") != std::string::npos) {
    route.service = "policy";
  } else if (path.find("/providers/microsoft.insights/") != std::string::npos) {
    route.service = "monitor";
  } else {
    route.service = "arm";
  }
  route.resource = segment_after(request.path, path, "/providers/microsoft.keyvault/vaults/");
  if (route.resource.empty()) {
    route.resource =
        segment_after(request.path, path, "/providers/microsoft.keyvault/managedhsms/");
  }
  return route;
}

SandboxResponse throttle_response(const RequestRoute& route, SandboxContext& context,
                                  int retry_after_seconds) {
  if (route.provider == "aws") {
    if (route.service == "sts") {
      return sts_error(context, 400, "Sender", "Throttling", "Rate exceeded");
    }
    if (route.service == "ec2") {
      return ec2_error(context, 503, "RequestLimitExceeded", "Request limit exceeded.");
    }
    if (route.service == "organizations") {
      return aws_json_error(context, 400, "TooManyRequestsException", "Message",
                            "AWS Organizations can't complete your request because another "
                            "request is already in progress. Try again later.");
    }
    // KMS, CloudTrail, CloudHSM v2: the front end's throttle, HTTP 400 and no Retry-After.
    return aws_json_error(context, 400, "ThrottlingException", "message", "Rate exceeded");
  }
  SandboxResponse response;
  if (route.service == "entra") {
    response = entra_error(context, 429, "temporarily_unavailable", 50196,
                           "The server terminated an operation because it encountered a client "
                           "request loop. Please contact your app vendor.");
  } else if (route.service == "keyvault") {
    response = azure_error(context, 429, "Throttled",
                           "Request was not processed because too many requests were received. "
                           "Reason: VaultRequestTypeLimitReached");
  } else {
    response = azure_error(
        context, 429, "TooManyRequests",
        fmt::format("Number of requests for subscription '{}' exceeded the limit. Please try "
                    "again after '{}' seconds.",
                    route.principal, retry_after_seconds));
  }
  response.headers.set("Retry-After", std::to_string(retry_after_seconds));
  return response;
}

SandboxResponse server_error_response(const RequestRoute& route, SandboxContext& context,
                                      int status) {
  const bool unavailable = status == 503;
  if (route.provider == "aws") {
    if (route.service == "sts") {
      return sts_error(context, status, "Receiver",
                       unavailable ? "ServiceUnavailable" : "InternalFailure",
                       unavailable ? "Service is unable to handle request."
                                   : "The request processing has failed because of an unknown "
                                     "error, exception or failure.");
    }
    if (route.service == "ec2") {
      return ec2_error(context, status, unavailable ? "Unavailable" : "InternalError",
                       unavailable ? "The server is overloaded and can't handle the request."
                                   : "An internal error has occurred.");
    }
    std::string code = "InternalFailure";
    if (unavailable) {
      code = "ServiceUnavailableException";
    } else if (route.service == "kms") {
      code = "KMSInternalException";
    } else if (route.service == "cloudhsm") {
      code = "CloudHsmInternalFailureException";
    } else if (route.service == "organizations") {
      code = "ServiceException";
    }
    return aws_json_error(context, status, code, message_member(route.service),
                          "We encountered an internal error. Please try again.");
  }
  if (route.service == "entra") {
    return entra_error(context, status, "temporarily_unavailable", 90033,
                       "A transient error has occurred. Please try again.");
  }
  SandboxResponse response =
      unavailable ? azure_error(context, status, "ServiceUnavailable",
                                "The service is temporarily unavailable. Please try again later.")
                  : azure_error(context, status, "InternalServerError",
                                "Encountered internal server error. Please try again.");
  if (unavailable) response.headers.set("Retry-After", "1");
  return response;
}

SandboxResponse access_denied_response(const RequestRoute& route, SandboxContext& context) {
  const Scenario& scenario = context.scenario();
  if (route.provider == "aws") {
    const std::string arn = aws_caller_arn(route, scenario);
    const std::string action = route.service + ":" + route.operation;
    if (route.service == "sts") {
      return sts_error(
          context, 403, "Sender", "AccessDenied",
          fmt::format("User: {} is not authorized to perform: {}", arn, "sts:" + route.operation));
    }
    if (route.service == "ec2") {
      return ec2_error(context, 403, "UnauthorizedOperation",
                       fmt::format("You are not authorized to perform this operation. User: {} "
                                   "is not authorized to perform: {} because no identity-based "
                                   "policy allows the {} action",
                                   arn, action, action));
    }
    return aws_json_error(context, 400, "AccessDeniedException", message_member(route.service),
                          fmt::format("User: {} is not authorized to perform: {} because no "
                                      "identity-based policy allows the {} action",
                                      arn, action, action));
  }
  const std::string client_id = scenario.azure ? scenario.azure->client_id : std::string();
  if (route.service == "entra") {
    if (is_managed_identity_path(route.operation)) {
      SandboxResponse response;
      response.status = 400;
      response.headers.set("Content-Type", "application/json; charset=utf-8");
      response.body =
          json{{"error", "invalid_request"}, {"error_description", "Identity not found"}}.dump();
      return response;
    }
    return entra_error(context, 400, "unauthorized_client", 700016,
                       fmt::format("Application with identifier '{}' was not found in the "
                                   "directory.",
                                   client_id));
  }
  if (route.service == "keyvault") {
    return azure_error(context, 403, "Forbidden",
                       "Caller is not authorized to perform action on resource.\r\nIf role "
                       "assignments, deny assignments or role definitions were changed "
                       "recently, please observe propagation time.",
                       json{{"code", "ForbiddenByRbac"}});
  }
  return azure_error(context, 403, "AuthorizationFailed",
                     fmt::format("The client '{}' with object id '{}' does not have authorization "
                                 "to perform action '{}' over scope '{}' or the scope is invalid. "
                                 "If access was recently granted, please refresh your "
                                 "credentials.",
                                 client_id, client_id, arm_action(route), route.operation));
}

const std::vector<QuotaSpec>& published_quotas() {
  // Per account and region for AWS, per subscription (ARM) or vault (Key Vault) for Azure; the
  // defaults the providers publish (KMS "Request quotas", CloudTrail "Quotas", EC2 "Request
  // throttling" non-mutating bucket, STS, ARM "Request limits and throttling" token buckets,
  // Key Vault "Service limits": 4,000 transactions per 10 seconds per vault).
  static const std::vector<QuotaSpec> quotas = {
      {"aws:kms:DescribeKey", 2000, 2000},
      {"aws:kms:GetPublicKey", 2000, 2000},
      {"aws:kms:ListAliases", 100, 100},
      {"aws:kms:ListKeys", 100, 100},
      {"aws:kms:Sign", 500, 500},
      {"aws:cloudtrail:read", 10, 10},
      {"aws:cloudtrail:LookupEvents", 2, 2},
      {"aws:ec2:read", 20, 100},
      {"aws:sts:all", 600, 600},
      {"azure:arm:read", 25, 250},
      {"azure:arm:write", 10, 200},
      {"azure:arm:delete", 10, 200},
      {"azure:keyvault:all", 400, 4000},
  };
  return quotas;
}

std::optional<QuotaSpec> published_quota(const std::string& key) {
  for (const auto& quota : published_quotas()) {
    if (quota.key == key) return quota;
  }
  return std::nullopt;
}

std::vector<std::string> quota_keys_for(const RequestRoute& route) {
  std::vector<std::string> keys;
  if (route.provider == "aws") {
    keys.push_back(fmt::format("aws:{}:{}", route.service, route.operation));
    const bool reads = starts_with(route.operation, "Get") ||
                       starts_with(route.operation, "Describe") ||
                       starts_with(route.operation, "List");
    if (route.service == "cloudtrail" && reads && route.operation != "ListInsightsMetricData") {
      keys.push_back("aws:cloudtrail:read");
    }
    if (route.service == "ec2" && reads) keys.push_back("aws:ec2:read");
    keys.push_back(fmt::format("aws:{}:all", route.service));
    return keys;
  }
  if (route.service == "keyvault" || route.service == "entra") {
    keys.push_back(fmt::format("azure:{}:all", route.service));
    return keys;
  }
  const std::string verb = route.method == "GET" || route.method == "HEAD" ? "read"
                           : route.method == "DELETE"                      ? "delete"
                                                                           : "write";
  if (route.service != "arm") keys.push_back(fmt::format("azure:{}:{}", route.service, verb));
  keys.push_back("azure:arm:" + verb);
  return keys;
}

FaultInjector::FaultInjector(const Scenario& scenario, std::vector<FaultSpec> faults,
                             std::vector<QuotaSpec> quotas)
    : faults_(std::move(faults)), random_(scenario.seed) {
  for (auto& quota : quotas) quotas_[quota.key] = quota;
  for (const auto& fault : faults_) remaining_.push_back(fault.count);
  if (scenario.azure) {
    for (const auto& subscription : scenario.azure->subscriptions) {
      for (const auto& vault : subscription.vaults) locations_[lower(vault.name)] = vault.location;
      for (const auto& hsm : subscription.managed_hsms) locations_[lower(hsm.name)] = hsm.location;
    }
  }
}

RequestRoute FaultInjector::route(const SandboxRequest& request) const {
  RequestRoute route = classify_request(request);
  if (route.provider == "azure" && !route.resource.empty()) {
    if (const auto it = locations_.find(lower(route.resource)); it != locations_.end()) {
      route.region = it->second;
    }
  }
  return route;
}

std::uint64_t FaultInjector::faults_fired() const {
  std::lock_guard lock(mutex_);
  return fired_;
}

bool FaultInjector::fires(std::size_t index) {
  std::lock_guard lock(mutex_);
  if (remaining_[index] == 0) return false;
  const double probability = faults_[index].probability;
  if (probability < 1.0) {
    std::uniform_real_distribution<double> draw(0.0, 1.0);
    if (draw(random_) >= probability) return false;
  }
  if (remaining_[index] > 0) --remaining_[index];
  ++fired_;
  return true;
}

bool FaultInjector::take_token(const QuotaSpec& quota, const std::string& bucket_id) {
  const auto now = std::chrono::steady_clock::now();
  std::lock_guard lock(mutex_);
  auto [it, created] = buckets_.try_emplace(bucket_id);
  Bucket& bucket = it->second;
  if (created) {
    bucket.tokens = quota.burst;
  } else {
    const double elapsed = std::chrono::duration<double>(now - bucket.refilled).count();
    bucket.tokens = std::min(quota.burst, bucket.tokens + elapsed * quota.rate_per_second);
  }
  bucket.refilled = now;
  if (bucket.tokens < 1.0) return false;
  bucket.tokens -= 1.0;
  return true;
}

FaultOutcome FaultInjector::before_handling(const SandboxRequest& request,
                                            SandboxContext& context) {
  FaultOutcome outcome;
  if (faults_.empty() && quotas_.empty()) return outcome;
  const RequestRoute request_route = route(request);
  for (std::size_t i = 0; i < faults_.size(); ++i) {
    const FaultSpec& fault = faults_[i];
    if (!fault.provider.empty() && fault.provider != request_route.provider) continue;
    if (!fault.service.empty() && fault.service != request_route.service) continue;
    if (!fault.operation.empty()) {
      const bool operation_matches =
          request_route.provider == "aws"
              ? lower(fault.operation) == lower(request_route.operation)
              : lower(request_route.operation).find(lower(fault.operation)) != std::string::npos;
      if (!operation_matches) continue;
    }
    if (!fault.region.empty() && fault.region != request_route.region) continue;
    if (!fires(i)) continue;
    if (fault.kind == "latency") {
      outcome.delay += std::chrono::milliseconds(fault.latency_ms);
    } else if (fault.kind == "truncate") {
      outcome.truncate = true;
    } else if (fault.kind == "throttle") {
      outcome.response = throttle_response(request_route, context, fault.retry_after_seconds);
      return outcome;
    } else if (fault.kind == "server_error") {
      outcome.response = server_error_response(request_route, context, fault.status);
      return outcome;
    } else if (fault.kind == "deny") {
      outcome.response = access_denied_response(request_route, context);
      return outcome;
    } else if (fault.kind == "reset") {
      SandboxResponse reset;
      reset.reset_connection = true;
      outcome.response = std::move(reset);
      return outcome;
    }
  }
  if (quotas_.empty()) return outcome;
  for (const std::string& key : quota_keys_for(request_route)) {
    const auto it = quotas_.find(key);
    if (it == quotas_.end()) continue;
    const std::string bucket_id =
        fmt::format("{}|{}|{}|{}", key, request_route.region, request_route.principal,
                    lower(request_route.resource));
    if (!take_token(it->second, bucket_id)) {
      const int retry_after =
          std::max(1, static_cast<int>(std::ceil(1.0 / it->second.rate_per_second)));
      outcome.response = throttle_response(request_route, context, retry_after);
      return outcome;
    }
  }
  return outcome;
}

}  // namespace hsmproof::sandbox
