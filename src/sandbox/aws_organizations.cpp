// Organizations (JSON 1.1, AWSOrganizationsV20161128): ListAccounts over every scenario account.
// The first account is the management account; only it may list the organization.

#include <string>

#include "sandbox/aws_common.h"

namespace hsmproof::sandbox::aws_impl {

namespace {

using nlohmann::json;

constexpr std::int64_t kMaxResultsLimit = 20;
constexpr std::int64_t kFirstJoined = 1600000000;

AwsError organizations_error(const char* code, const std::string& message) {
  AwsError error{400, code, message};
  error.message_member = "Message";
  return error;
}

std::string organization_id(const AwsAccountSpec& management) {
  return "o-" + derived_hex("org:" + management.account_id, 10);
}

json list_accounts(const AwsCall& call) {
  const std::vector<AwsAccountSpec>& accounts = call.context.scenario().aws_accounts;
  if (accounts.empty() || &accounts.front() != call.caller.account) {
    throw organizations_error("AccessDeniedException",
                              "You don't have permissions to access this resource.");
  }
  const std::optional<std::int64_t> max_results = input_integer(call.input, "MaxResults");
  if (max_results && (*max_results < 1 || *max_results > kMaxResultsLimit)) {
    AwsError error = organizations_error(
        "InvalidInputException",
        "You provided a value that does not match the required pattern (MaxResults must be "
        "between 1 and 20).");
    throw error;
  }
  const std::size_t page = static_cast<std::size_t>(max_results.value_or(kMaxResultsLimit));
  std::size_t start = 0;
  if (const std::optional<std::string> token = input_string(call.input, "NextToken")) {
    const std::optional<std::string> position = read_page_token("org-accounts", *token);
    std::size_t index = 0;
    bool valid = position.has_value() && !position->empty();
    if (valid) {
      for (char c : *position) valid = valid && std::isdigit(static_cast<unsigned char>(c)) != 0;
    }
    if (valid) index = static_cast<std::size_t>(std::stoull(*position));
    if (!valid || index > accounts.size()) {
      throw organizations_error("InvalidInputException",
                                "The NextToken value you provided is not valid.");
    }
    start = index;
  }
  const AwsAccountSpec& management = accounts.front();
  const std::size_t end = std::min(accounts.size(), start + page);
  json list = json::array();
  for (std::size_t i = start; i < end; ++i) {
    const AwsAccountSpec& account = accounts[i];
    list.push_back({{"Id", account.account_id},
                    {"Arn", "arn:aws:organizations::" + management.account_id + ":account/" +
                                organization_id(management) + "/" + account.account_id},
                    {"Email", "aws+" + account.account_id + "@example.com"},
                    {"Name", account.name.empty() ? account.account_id : account.name},
                    {"Status", "ACTIVE"},
                    {"State", "ACTIVE"},
                    {"JoinedMethod", i == 0 ? "INVITED" : "CREATED"},
                    {"JoinedTimestamp", kFirstJoined + static_cast<std::int64_t>(i) * 86400}});
  }
  json out = {{"Accounts", list}};
  if (end < accounts.size())
    out["NextToken"] = make_page_token("org-accounts", std::to_string(end));
  return out;
}

}  // namespace

json organizations_operation(AwsCall& call) {
  if (call.operation == "ListAccounts") return list_accounts(call);
  throw unknown_operation(call);
}

}  // namespace hsmproof::sandbox::aws_impl
