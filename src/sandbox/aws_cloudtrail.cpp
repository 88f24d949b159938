// CloudTrail (JSON 1.1): DescribeTrails, GetTrailStatus, GetEventSelectors. A multi-region trail
// shows up as a "shadow trail" in every enabled region of its account (with its own HomeRegion),
// and an organization trail of the management account shows up in the member accounts too.

#include <cctype>
#include <string>
#include <vector>

#include "sandbox/aws_common.h"

namespace hsmproof::sandbox::aws_impl {

namespace {

using nlohmann::json;

// When the scenario's trails started (and, for stopped ones, stopped) logging; fixed so answers
// are reproducible.
constexpr std::int64_t kLoggingStarted = 1700000000;
constexpr std::int64_t kLoggingStopped = 1700086400;
constexpr std::int64_t kLatestDelivery = 1700090000;

struct TrailView {
  const TrailSpec* spec = nullptr;
  const AwsAccountSpec* owner = nullptr;
  std::string arn;
};

AwsError cloudtrail_error(const char* code, const std::string& message) {
  AwsError error{400, code, message};
  error.message_member = "Message";
  return error;
}

std::string trail_arn(const AwsAccountSpec& owner, const TrailSpec& trail) {
  return "arn:aws:cloudtrail:" + trail.home_region + ":" + owner.account_id + ":trail/" +
         trail.name;
}

// Trails visible from `account` in `region`: its own trails homed there, and, with shadows,
// multi-region ones homed elsewhere; the management account's organization trails likewise.
std::vector<TrailView> visible_trails(const AwsCall& call, bool include_shadows) {
  const AwsAccountSpec& account = *call.caller.account;
  std::vector<TrailView> trails;
  const auto consider = [&](const AwsAccountSpec& owner, const TrailSpec& trail) {
    const bool home = trail.home_region == call.region;
    if (home || (include_shadows && trail.multi_region)) {
      trails.push_back({&trail, &owner, trail_arn(owner, trail)});
    }
  };
  for (const TrailSpec& trail : account.trails) consider(account, trail);
  const std::vector<AwsAccountSpec>& accounts = call.context.scenario().aws_accounts;
  if (!accounts.empty() && &accounts.front() != &account) {
    for (const TrailSpec& trail : accounts.front().trails) {
      if (trail.organization) consider(accounts.front(), trail);
    }
  }
  return trails;
}

json trail_json(const TrailView& view) {
  const TrailSpec& trail = *view.spec;
  return {{"Name", trail.name},
          {"S3BucketName", trail.s3_bucket},
          {"IncludeGlobalServiceEvents", true},
          {"IsMultiRegionTrail", trail.multi_region},
          {"HomeRegion", trail.home_region},
          {"TrailARN", view.arn},
          {"LogFileValidationEnabled", false},
          {"HasCustomEventSelectors",
           trail.event_selectors.has_value() || trail.advanced_event_selectors.has_value()},
          {"HasInsightSelectors", false},
          {"IsOrganizationTrail", trail.organization}};
}

bool is_arn(const std::string& text) { return text.rfind("arn:", 0) == 0; }

void check_trail_name(const std::string& name) {
  if (is_arn(name)) {
    // arn:aws:cloudtrail:<region>:<account>:trail/<name>
    const std::size_t resource = name.find(":trail/");
    if (name.rfind("arn:aws:cloudtrail:", 0) != 0 || resource == std::string::npos ||
        resource + 7 >= name.size()) {
      throw cloudtrail_error("CloudTrailARNInvalidException",
                             "The ARN " + name + " is not a valid CloudTrail trail ARN.");
    }
    return;
  }
  const bool valid_length = name.size() >= 3 && name.size() <= 128;
  bool valid_characters =
      !name.empty() && std::isalnum(static_cast<unsigned char>(name.front())) != 0;
  for (char c : name) {
    const bool ok =
        std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '.' || c == '_' || c == '-';
    if (!ok) valid_characters = false;
  }
  if (!valid_length || !valid_characters) {
    throw cloudtrail_error("InvalidTrailNameException",
                           "Trail name " + name +
                               " is not valid: use 3-128 letters, digits, periods, underscores or "
                               "dashes, starting with a letter or digit.");
  }
}

// A trail by name (homed in the request's region) or by ARN (home or shadow), as AWS resolves
// GetTrailStatus and GetEventSelectors.
TrailView find_trail(const AwsCall& call, const std::string& name_or_arn) {
  check_trail_name(name_or_arn);
  const bool by_arn = is_arn(name_or_arn);
  for (const TrailView& view : visible_trails(call, true)) {
    if (by_arn ? view.arn == name_or_arn
               : (view.spec->name == name_or_arn && view.spec->home_region == call.region &&
                  view.owner == call.caller.account)) {
      return view;
    }
  }
  const std::string shown = by_arn ? name_or_arn
                                   : "arn:aws:cloudtrail:" + call.region + ":" +
                                         call.caller.account->account_id + ":trail/" + name_or_arn;
  throw cloudtrail_error("TrailNotFoundException", "Unknown trail: " + shown + " for the user: " +
                                                       call.caller.account->account_id);
}

std::string required_name(const AwsCall& call, const char* member) {
  const std::optional<std::string> name = input_string(call.input, member);
  if (!name || name->empty()) {
    throw cloudtrail_error("InvalidTrailNameException", std::string(member) + " is required.");
  }
  return *name;
}

json describe_trails(const AwsCall& call) {
  const bool include_shadows = input_boolean(call.input, "includeShadowTrails").value_or(true);
  std::vector<std::string> wanted;
  if (auto found = call.input.find("trailNameList");
      found != call.input.end() && !found->is_null()) {
    if (!found->is_array()) {
      throw AwsError{400, "SerializationException", "trailNameList must be a list of strings"};
    }
    for (const json& item : *found) {
      if (!item.is_string()) {
        throw AwsError{400, "SerializationException", "trailNameList must be a list of strings"};
      }
      wanted.push_back(item.get<std::string>());
      check_trail_name(wanted.back());
    }
  }
  json list = json::array();
  for (const TrailView& view : visible_trails(call, include_shadows)) {
    if (!wanted.empty()) {
      bool named = false;
      for (const std::string& name : wanted) {
        // A bare name matches trails of this region; other regions' trails need their ARN.
        if (name == view.arn ||
            (name == view.spec->name && view.spec->home_region == call.region)) {
          named = true;
        }
      }
      if (!named) continue;
    }
    list.push_back(trail_json(view));
  }
  return {{"trailList", list}};
}

json get_trail_status(const AwsCall& call) {
  const TrailView view = find_trail(call, required_name(call, "Name"));
  const TrailSpec& trail = *view.spec;
  json out = {{"IsLogging", trail.logging},
              {"LatestDeliveryTime", kLatestDelivery},
              {"StartLoggingTime", kLoggingStarted},
              {"LatestDeliveryAttemptTime", iso8601(kLatestDelivery)},
              {"LatestNotificationAttemptTime", ""},
              {"LatestNotificationAttemptSucceeded", ""},
              {"LatestDeliveryAttemptSucceeded", iso8601(kLatestDelivery)},
              {"TimeLoggingStarted", iso8601(kLoggingStarted)},
              {"TimeLoggingStopped", ""}};
  if (!trail.logging) {
    out["StopLoggingTime"] = kLoggingStopped;
    out["TimeLoggingStopped"] = iso8601(kLoggingStopped);
  }
  return out;
}

json get_event_selectors(const AwsCall& call) {
  const TrailView view = find_trail(call, required_name(call, "TrailName"));
  const TrailSpec& trail = *view.spec;
  json out = {{"TrailARN", view.arn}};
  if (trail.advanced_event_selectors) {
    out["AdvancedEventSelectors"] = *trail.advanced_event_selectors;
  } else if (trail.event_selectors) {
    out["EventSelectors"] = *trail.event_selectors;
  } else {
    // What AWS gives a trail nobody customised: all management events, read and write.
    out["EventSelectors"] = json::array({{{"ReadWriteType", "All"},
                                          {"IncludeManagementEvents", true},
                                          {"DataResources", json::array()},
                                          {"ExcludeManagementEventSources", json::array()}}});
  }
  return out;
}

}  // namespace

json cloudtrail_operation(AwsCall& call) {
  if (call.operation == "DescribeTrails") return describe_trails(call);
  if (call.operation == "GetTrailStatus") return get_trail_status(call);
  if (call.operation == "GetEventSelectors") return get_event_selectors(call);
  throw unknown_operation(call);
}

}  // namespace hsmproof::sandbox::aws_impl
