#pragma once
// Shared by the sandbox's AWS files (aws_*.cpp): the authenticated call a service handler works
// on, AWS error values, the STS sessions the sandbox issued, and small encoding helpers.

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "core/text.h"
#include "sandbox/sandbox.h"

namespace hsmproof::sandbox::aws_impl {

// An error answer as AWS gives it. Service code throws it; handle_aws, the boundary, turns it
// into a response in the protocol of the service (JSON {"__type","message"} or query XML), so a
// validation failure deep inside request parsing needs no plumbing back up.
struct AwsError {
  int status = 400;
  std::string code;
  std::string message;
  std::string type = "Sender";  // STS <Type>: Sender or Receiver
  // JSON body member of the message: the models of CloudTrail, CloudHSM v2 and Organizations
  // spell it "Message"; KMS and the AWS front end "message".
  std::string message_member = "message";
};

enum class Protocol { kJson, kQuery, kEc2 };

// Who signed the request: the scenario account's long-term key, or a session the sandbox's STS
// issued (possibly into another scenario account).
struct Caller {
  const AwsAccountSpec* account = nullptr;
  std::string access_key_id;
  std::string arn;      // arn:aws:iam::<acct>:user/<name> or arn:aws:sts::<acct>:assumed-role/..
  std::string user_id;  // AIDA... or AROA...:<session>
  bool temporary = false;
};

struct AwsCall {
  const SandboxRequest& request;
  SandboxContext& context;
  std::string service;  // signing name from the credential scope
  std::string region;   // from the credential scope
  std::string operation;
  Protocol protocol = Protocol::kJson;
  Caller caller;
  std::string request_id;
  nlohmann::json input = nlohmann::json::object();  // JSON services
  std::map<std::string, std::string> params;        // query services: query string + form body
};

// ---- service entry points (each throws AwsError; unknown operations included) ----

nlohmann::json kms_operation(AwsCall& call);
nlohmann::json cloudtrail_operation(AwsCall& call);
nlohmann::json cloudhsm_operation(AwsCall& call);
nlohmann::json organizations_operation(AwsCall& call);
// Query services answer with a complete XML document.
std::string sts_operation(AwsCall& call);
std::string ec2_operation(AwsCall& call);
// The unsigned STS call (web identity federation carries its own proof, the token).
std::string sts_assume_role_with_web_identity(const SandboxRequest& request,
                                              SandboxContext& context,
                                              const std::map<std::string, std::string>& params,
                                              const std::string& request_id);

// ---- STS sessions ----

struct Session {
  std::string access_key_id;
  std::string secret_access_key;
  std::string session_token;
  std::string account_id;
  std::string role_arn;          // arn:aws:iam::<acct>:role/<name>
  std::string assumed_role_arn;  // arn:aws:sts::<acct>:assumed-role/<name>/<session>
  std::string assumed_role_id;   // AROA...:<session>
  std::string external_id;       // as the caller passed it (kept, never checked: no trust policy)
  std::chrono::system_clock::time_point expiration;
};

// The temporary credentials one SandboxContext's STS issued, keyed by access key id.
class SessionStore {
 public:
  void add(Session session);
  std::optional<Session> find(const std::string& access_key_id) const;

 private:
  mutable std::mutex mutex_;
  std::map<std::string, Session> by_access_key_;
};

// The store of this context (created on first use).
std::shared_ptr<SessionStore> sessions_of(SandboxContext& context);

// ---- scenario lookups ----

const AwsAccountSpec* find_account(const Scenario& scenario, const std::string& account_id);
const AwsAccountSpec* find_account_by_access_key(const Scenario& scenario,
                                                 const std::string& access_key_id);
bool region_enabled(const AwsAccountSpec& account, const std::string& region);
// The ARN and user id of an account's long-term key holder.
std::string account_user_arn(const AwsAccountSpec& account);
std::string account_user_id(const AwsAccountSpec& account);

// ---- encodings ----

std::string base64_encode(const std::string& bytes);
// Strict standard base64 (padding required); nullopt when the text is not base64.
std::optional<std::string> base64_decode(const std::string& text);
using ::hsmproof::xml_escape;  // core/text.h
// "2015-08-30T12:36:00Z"; with_millis gives "2015-08-30T12:36:00.000Z" as STS writes.
std::string iso8601(std::int64_t epoch_seconds, bool with_millis = false);
std::int64_t epoch_now();
// Deterministic hex digits derived from a seed text (ids of things the scenario doesn't name).
std::string derived_hex(const std::string& seed, std::size_t length);
// Random [A-Z0-9] / base64-ish text for issued credentials.
std::string random_text(std::size_t length, const std::string& alphabet);

// JSON input readers that answer as AWS does for a member of the wrong type.
std::optional<std::string> input_string(const nlohmann::json& input, const char* name);
std::optional<std::int64_t> input_integer(const nlohmann::json& input, const char* name);
std::optional<bool> input_boolean(const nlohmann::json& input, const char* name);

AwsError validation_error(const std::string& message);
AwsError unknown_operation(const AwsCall& call);

// Opaque paging tokens: a service-specific tag and the position (the next item's sort key).
std::string make_page_token(const std::string& tag, const std::string& next_key);
std::optional<std::string> read_page_token(const std::string& tag, const std::string& token);

}  // namespace hsmproof::sandbox::aws_impl
