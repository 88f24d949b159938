// CSBR 6.2.7.4.1(8)(2) asks that "all access, operations, and configuration changes" on the key's
// resources be logged. In AWS that is a CloudTrail trail covering the region that is logging and
// records management events both read (KMS Sign and Verify are read events) and write
// (configuration changes), without excluding the service holding the key (Entrust: "Exclude AWS
// KMS events is set to No").
//
// Selectors are OR-ed: a trail qualifies when the union of its selectors records a read and a
// write management event from the key's service. Advanced selectors are judged by simulating
// those two events; a selector that filters on any other field (eventName, userIdentity.arn,
// errorCode, ...) drops some events, so it proves nothing and does not count.

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <optional>
#include <set>

#include "rules/checks.h"
#include "rules/support/kms_keys.h"
#include "rules/support/requirements.h"

namespace hsmproof::rules::checks {
namespace {

constexpr std::string_view kKmsEventSource = "kms.amazonaws.com";
constexpr std::string_view kCloudHsmEventSource = "cloudhsm.amazonaws.com";

const CheckMetadata& metadata() {
  static const std::string requirement =
      std::string(support::kCsbrLogging) +
      " Entrust: \"At least one trail must be in 'Logging' status to ensure that KMS is "
      "configured to log all access, operations, and configuration changes.\" \"Make sure that "
      "Exclude AWS KMS events is set to No.\" (aws-cloudhsm: \"Make sure at least one Trail is "
      "properly enabled.\")";
  static const CheckMetadata check_metadata{
      .id = "aws_cloudtrail_logging",
      .title = "A logging CloudTrail trail records the region's management events, KMS included",
      .location_kind = kAwsKmsLocation,
      .requirement = requirement,
      .severity = "high",
      .permissions = {"cloudtrail:DescribeTrails", "cloudtrail:GetTrailStatus",
                      "cloudtrail:GetEventSelectors"},
      .parameters = {},
      .additional_location_kinds = {kAwsCloudHsmLocation},
  };
  return check_metadata;
}

bool contains(const std::vector<std::string>& values, std::string_view value) {
  return std::find(values.begin(), values.end(), value) != values.end();
}

bool starts_with_any(const std::vector<std::string>& prefixes, std::string_view value) {
  return std::any_of(prefixes.begin(), prefixes.end(),
                     [value](const std::string& prefix) { return value.starts_with(prefix); });
}

bool ends_with_any(const std::vector<std::string>& suffixes, std::string_view value) {
  return std::any_of(suffixes.begin(), suffixes.end(),
                     [value](const std::string& suffix) { return value.ends_with(suffix); });
}

// CloudTrail semantics: the positive operators of a field selector are OR-ed (an event matches
// one of the values), the negative ones all have to hold.
bool field_matches(const model::FieldSelector& field, std::string_view value) {
  const bool has_positive =
      !field.equals.empty() || !field.starts_with.empty() || !field.ends_with.empty();
  const bool positive = contains(field.equals, value) ||
                        starts_with_any(field.starts_with, value) ||
                        ends_with_any(field.ends_with, value);
  if (has_positive && !positive) return false;
  return !contains(field.not_equals, value) && !starts_with_any(field.not_starts_with, value) &&
         !ends_with_any(field.not_ends_with, value);
}

std::string describe_field(const model::FieldSelector& field) {
  std::vector<std::string> parts;
  const auto add = [&](const char* op, const std::vector<std::string>& values) {
    if (!values.empty()) parts.push_back(fmt::format("{} {} [{}]", field.field, op,
                                                     fmt::join(values, ", ")));
  };
  add("Equals", field.equals);
  add("StartsWith", field.starts_with);
  add("EndsWith", field.ends_with);
  add("NotEquals", field.not_equals);
  add("NotStartsWith", field.not_starts_with);
  add("NotEndsWith", field.not_ends_with);
  if (parts.empty()) return field.field + " (no condition)";
  return fmt::format("{}", fmt::join(parts, ", "));
}

struct Coverage {
  bool reads = false;
  bool writes = false;
  std::vector<std::string> gaps;  // why some selector falls short, for a trail that fails
};

void add_basic_selector(const model::BasicEventSelector& selector, std::size_t number,
                        std::string_view event_source, Coverage& coverage) {
  const std::string label = fmt::format("event selector {}", number);
  if (!selector.include_management_events) {
    coverage.gaps.push_back(label + ": IncludeManagementEvents false");
    return;
  }
  if (contains(selector.exclude_management_event_sources, event_source)) {
    coverage.gaps.push_back(fmt::format("{}: ExcludeManagementEventSources contains {}{}", label,
                                        event_source,
                                        event_source == kKmsEventSource
                                            ? " (\"Exclude AWS KMS events\" is set)"
                                            : ""));
    return;
  }
  const std::string& type = selector.read_write_type;
  if (type == "All" || type == "ReadOnly") coverage.reads = true;
  if (type == "All" || type == "WriteOnly") coverage.writes = true;
  if (type == "WriteOnly") {
    coverage.gaps.push_back(label + ": ReadWriteType WriteOnly (read events such as KMS Sign "
                                    "are not logged)");
  } else if (type == "ReadOnly") {
    coverage.gaps.push_back(label + ": ReadWriteType ReadOnly (configuration changes are not "
                                    "logged)");
  } else if (type != "All") {
    coverage.gaps.push_back(label + ": unknown ReadWriteType " + type);
  }
}

void add_advanced_selector(const model::AdvancedEventSelector& selector, std::size_t number,
                           std::string_view event_source, Coverage& coverage) {
  const std::string label = selector.name.empty()
                                ? fmt::format("advanced event selector {}", number)
                                : fmt::format("advanced event selector \"{}\"", selector.name);
  static const std::set<std::string, std::less<>> kJudgedFields = {"eventCategory", "eventSource",
                                                                   "readOnly"};
  bool has_category = false;
  for (const model::FieldSelector& field : selector.field_selectors) {
    if (kJudgedFields.count(field.field) == 0) {
      coverage.gaps.push_back(
          fmt::format("{}: filters on {}, so some events are not logged", label,
                      describe_field(field)));
      return;
    }
    if (field.field == "eventCategory") has_category = true;
  }
  if (!has_category) {
    coverage.gaps.push_back(label + ": no eventCategory Equals [Management] condition");
    return;
  }

  const std::map<std::string, std::string, std::less<>> read_event = {
      {"eventCategory", "Management"}, {"eventSource", std::string(event_source)},
      {"readOnly", "true"}};
  std::map<std::string, std::string, std::less<>> write_event = read_event;
  write_event["readOnly"] = "false";

  bool reads = true;
  bool writes = true;
  for (const model::FieldSelector& field : selector.field_selectors) {
    const bool read_matches = field_matches(field, read_event.at(field.field));
    const bool write_matches = field_matches(field, write_event.at(field.field));
    reads = reads && read_matches;
    writes = writes && write_matches;
    if (read_matches && write_matches) continue;
    const std::string condition = describe_field(field);
    if (field.field == "eventCategory") {
      coverage.gaps.push_back(fmt::format("{}: selects no management events ({})", label,
                                          condition));
    } else if (field.field == "eventSource") {
      coverage.gaps.push_back(fmt::format("{}: excludes {} events ({})", label, event_source,
                                          condition));
    } else if (!read_matches && write_matches) {
      coverage.gaps.push_back(fmt::format(
          "{}: logs only write events ({}), so read events such as KMS Sign are not logged",
          label, condition));
    } else if (read_matches && !write_matches) {
      coverage.gaps.push_back(fmt::format(
          "{}: logs only read events ({}), so configuration changes are not logged", label,
          condition));
    } else {
      coverage.gaps.push_back(fmt::format("{}: logs no events ({})", label, condition));
    }
  }
  coverage.reads = coverage.reads || reads;
  coverage.writes = coverage.writes || writes;
}

Coverage selector_coverage(const model::EventSelectors& selectors,
                           std::string_view event_source) {
  Coverage coverage;
  for (std::size_t i = 0; i < selectors.basic.size(); ++i) {
    add_basic_selector(selectors.basic[i], i + 1, event_source, coverage);
  }
  for (std::size_t i = 0; i < selectors.advanced.size(); ++i) {
    add_advanced_selector(selectors.advanced[i], i + 1, event_source, coverage);
  }
  if (selectors.basic.empty() && selectors.advanced.empty()) {
    coverage.gaps.push_back("no event selectors, so no management events are logged");
  }
  return coverage;
}

bool covers_region(const model::Trail& trail, const std::string& region) {
  return trail.is_multi_region || trail.home_region == region;
}

std::string trail_label(const model::Trail& trail) {
  return trail.name.empty() ? trail.arn : trail.name;
}

// The account field of arn:partition:cloudtrail:region:account:trail/name.
std::string arn_account(const std::string& arn) {
  std::size_t start = 0;
  for (int field = 0; field < 4; ++field) {
    start = arn.find(':', start);
    if (start == std::string::npos) return "";
    ++start;
  }
  const std::size_t end = arn.find(':', start);
  return end == std::string::npos ? "" : arn.substr(start, end - start);
}

struct TrailJudgement {
  model::Status status = model::Status::kIncomplete;
  std::string detail;
  std::vector<std::string> fixes;
};

TrailJudgement judge_trail(const model::Trail& trail, const model::AwsRegionInventory& region,
                           std::string_view event_source) {
  TrailJudgement judgement;
  const std::string trail_id = trail.arn.empty() ? trail.name : trail.arn;
  const std::string home = trail.home_region.empty() ? region.region : trail.home_region;
  std::vector<std::string> failures;
  std::vector<std::string> unreadable;

  if (!trail.status.ok()) {
    unreadable.push_back("cannot read trail status: " + trail.status.error().describe());
  } else if (!trail.status->is_logging) {
    failures.push_back("logging is stopped");
    judgement.fixes.push_back(
        fmt::format("aws cloudtrail start-logging --name {} --region {}", trail_id, home));
  }

  if (!trail.selectors.ok()) {
    unreadable.push_back("cannot read event selectors: " + trail.selectors.error().describe());
  } else {
    const Coverage coverage = selector_coverage(trail.selectors.value(), event_source);
    if (!(coverage.reads && coverage.writes)) {
      failures.insert(failures.end(), coverage.gaps.begin(), coverage.gaps.end());
      if (!trail.selectors->advanced.empty()) {
        judgement.fixes.push_back(fmt::format(
            "aws cloudtrail put-event-selectors --trail-name {} --region {} "
            "--advanced-event-selectors "
            "'[{{\"Name\":\"Management events\",\"FieldSelectors\":[{{\"Field\":\"eventCategory\","
            "\"Equals\":[\"Management\"]}}]}}]'",
            trail_id, home));
      } else {
        judgement.fixes.push_back(fmt::format(
            "aws cloudtrail put-event-selectors --trail-name {} --region {} --event-selectors "
            "'[{{\"ReadWriteType\":\"All\",\"IncludeManagementEvents\":true}}]'",
            trail_id, home));
      }
    }
  }

  const std::string scope =
      trail.is_multi_region ? fmt::format("multi-region trail (home {})", home)
                            : fmt::format("trail in {}", home);
  if (!failures.empty()) {
    judgement.status = model::Status::kFail;
    failures.insert(failures.end(), unreadable.begin(), unreadable.end());
    judgement.detail = fmt::format("{}: {}", scope, fmt::join(failures, "; "));
    if (trail.is_organization && arn_account(trail.arn) != region.account) {
      judgement.fixes.push_back(fmt::format(
          "# {} is an organization trail: run the commands above in account {}, which owns it",
          trail_label(trail), arn_account(trail.arn)));
    }
  } else if (!unreadable.empty()) {
    judgement.status = model::Status::kIncomplete;
    judgement.detail = fmt::format("{}: {}", scope, fmt::join(unreadable, "; "));
  } else {
    judgement.status = model::Status::kPass;
    judgement.detail = fmt::format(
        "{}: logging, records read and write management events including {}", scope,
        event_source);
  }
  return judgement;
}

model::CheckFinding evaluate(const AwsRegionContext& context) {
  model::CheckFinding finding = support::start_finding(metadata());
  const model::AwsRegionInventory& region = context.region;
  const std::string_view event_source =
      context.location_kind == kAwsCloudHsmLocation ? kCloudHsmEventSource : kKmsEventSource;
  if (!region.trails.ok()) {
    finding.status = model::Status::kIncomplete;
    finding.message = fmt::format("cannot list the CloudTrail trails of {}: {}", region.region,
                                  region.trails.error().describe());
    return finding;
  }

  std::size_t covering = 0;
  std::size_t passing = 0;
  std::size_t unreadable = 0;
  std::vector<std::string> failure_summaries;
  std::vector<std::string> passing_names;
  std::vector<std::string> fixes;
  for (const model::Trail& trail : region.trails.value()) {
    if (!covers_region(trail, region.region)) continue;
    ++covering;
    TrailJudgement judgement = judge_trail(trail, region, event_source);
    const std::string trail_id = trail.arn.empty() ? trail.name : trail.arn;
    finding.resources.push_back({trail_id, judgement.status, judgement.detail});
    if (judgement.status == model::Status::kPass) {
      ++passing;
      passing_names.push_back(trail_label(trail));
      if (trail.status.ok() && !trail.status->latest_delivery_error.empty()) {
        finding.warnings.push_back(fmt::format("trail {} reports a delivery error: {}",
                                               trail_label(trail),
                                               trail.status->latest_delivery_error));
      }
    } else if (judgement.status == model::Status::kIncomplete) {
      ++unreadable;
    } else {
      failure_summaries.push_back(fmt::format("{} ({})", trail_label(trail), judgement.detail));
    }
    fixes.insert(fixes.end(), judgement.fixes.begin(), judgement.fixes.end());
  }

  const std::string what = fmt::format("management read and write events including {}",
                                       event_source);
  if (passing > 0) {
    finding.status = model::Status::kPass;
    finding.message = fmt::format("trail {} logs {} in {}", fmt::join(passing_names, ", "), what,
                                  region.region);
    // The other trails are not failures of the check: one qualifying trail suffices.
    for (auto& resource : finding.resources) {
      if (resource.status != model::Status::kPass) resource.status = model::Status::kNotApplicable;
    }
    return finding;
  }
  if (unreadable > 0) {
    finding.status = model::Status::kIncomplete;
    finding.message = fmt::format(
        "no trail covering {} is known to log {}: {} of {} covering trail{} could not be read",
        region.region, what, unreadable, covering, covering == 1 ? "" : "s");
    return finding;
  }
  finding.status = model::Status::kFail;
  if (covering == 0) {
    finding.message = fmt::format("no trail covers {}", region.region);
    finding.remediation = {
        "# YOUR_LOG_BUCKET: an S3 bucket whose bucket policy lets CloudTrail write to it",
        fmt::format("aws cloudtrail create-trail --name code-signing-audit --s3-bucket-name "
                    "YOUR_LOG_BUCKET --is-multi-region-trail --region {}",
                    region.region),
        fmt::format("aws cloudtrail start-logging --name code-signing-audit --region {}",
                    region.region),
    };
    return finding;
  }
  finding.message = fmt::format("no trail covering {} logs {}: {}", region.region, what,
                                fmt::join(failure_summaries, "; "));
  finding.remediation = std::move(fixes);
  if (std::any_of(finding.remediation.begin(), finding.remediation.end(),
                  [](const std::string& fix) { return fix.find("put-event-selectors") !=
                                                      std::string::npos; })) {
    finding.remediation.push_back(
        "# put-event-selectors replaces a trail's selectors: add back any data event selectors "
        "it had");
  }
  return finding;
}

}  // namespace

Check aws_cloudtrail_logging() { return {metadata(), &evaluate}; }

}  // namespace hsmproof::rules::checks
