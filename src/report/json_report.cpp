// The JSON report is a contract (DESIGN.md "JSON report"): other programs parse it, so field names
// keep their meaning and the bytes depend only on the findings and the context.

#include <array>
#include <nlohmann/json.hpp>
#include <string>

#include "report/report.h"

namespace hsmproof::report {

namespace {

using Json = nlohmann::ordered_json;
using model::Status;

const char* error_kind_name(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::kTransport:
      return "transport";
    case ErrorKind::kHttp:
      return "http";
    case ErrorKind::kMalformed:
      return "malformed";
    case ErrorKind::kCredentials:
      return "credentials";
    case ErrorKind::kUsage:
      return "usage";
    case ErrorKind::kInternal:
      return "internal";
  }
  return "internal";
}

constexpr std::array kAllStatuses = {Status::kPass, Status::kFail, Status::kIncomplete,
                                     Status::kNotApplicable};

// Every status is present, even at zero, so readers never need to test for a missing key.
Json status_counts(const std::array<int, kAllStatuses.size()>& counts) {
  Json out = Json::object();
  int total = 0;
  for (std::size_t i = 0; i < kAllStatuses.size(); ++i) {
    out[model::to_string(kAllStatuses[i])] = counts[i];
    total += counts[i];
  }
  out["total"] = total;
  return out;
}

std::size_t status_index(Status status) {
  for (std::size_t i = 0; i < kAllStatuses.size(); ++i) {
    if (kAllStatuses[i] == status) return i;
  }
  return 0;
}

Json summary_json(const model::Findings& findings) {
  std::array<int, kAllStatuses.size()> locations{};
  std::array<int, kAllStatuses.size()> checks{};
  for (const auto& location : findings.locations) {
    ++locations[status_index(location.verdict)];
    for (const auto& check : location.checks) ++checks[status_index(check.status)];
  }
  Json out = Json::object();
  out["locations"] = status_counts(locations);
  out["checks"] = status_counts(checks);
  return out;
}

Json error_json(const Error& error) {
  Json out = Json::object();
  out["kind"] = error_kind_name(error.kind);
  out["operation"] = error.operation;
  out["region"] = error.region;
  out["resource"] = error.resource;
  // 0 means no HTTP answer arrived; null says so instead of inventing a status.
  out["http_status"] = error.http_status != 0 ? Json(error.http_status) : Json(nullptr);
  out["code"] = error.provider_code;
  out["request_id"] = error.request_id;
  out["message"] = error.message;
  return out;
}

Json resource_json(const model::ResourceFinding& resource) {
  Json out = Json::object();
  out["id"] = resource.id;
  out["status"] = model::to_string(resource.status);
  out["detail"] = resource.detail;
  return out;
}

Json check_json(const model::CheckFinding& check) {
  Json out = Json::object();
  out["id"] = check.id;
  out["title"] = check.title;
  out["status"] = model::to_string(check.status);
  out["message"] = check.message;
  Json resources = Json::array();
  for (const auto& resource : check.resources) resources.push_back(resource_json(resource));
  out["resources"] = std::move(resources);
  out["warnings"] = Json::array();
  for (const auto& warning : check.warnings) out["warnings"].push_back(warning);
  out["remediation"] = Json::array();
  for (const auto& command : check.remediation) out["remediation"].push_back(command);
  return out;
}

Json location_json(const model::LocationFinding& location) {
  Json out = Json::object();
  out["provider"] = location.provider;
  out["kind"] = location.kind;
  out["account"] = location.account;
  out["region"] = location.region;
  out["name"] = location.name;
  out["verdict"] = model::to_string(location.verdict);
  out["holds_requested_key"] = location.holds_requested_key;
  Json checks = Json::array();
  for (const auto& check : location.checks) checks.push_back(check_json(check));
  out["checks"] = std::move(checks);
  return out;
}

}  // namespace

std::string render_json(const model::Findings& findings, const ReportContext& context) {
  Json report = Json::object();
  report["verdict"] = model::to_string(findings.verdict);
  report["verdict_reason"] = findings.verdict_reason;
  report["baseline"] = findings.baseline;
  report["trust_level"] = context.trust_level;
  report["tool"] = Json{{"name", "hsmproof"}, {"version", context.tool_version}};
  report["generated_at"] = format_iso8601(context.generated_at);
  report["requested_keys"] = Json::array();
  for (const auto& key : findings.requested_keys) report["requested_keys"].push_back(key);
  Json errors = Json::array();
  for (const auto& error : findings.scope_errors) errors.push_back(error_json(error));
  report["errors"] = std::move(errors);
  report["summary"] = summary_json(findings);
  Json locations = Json::array();
  for (const auto& location : findings.locations) locations.push_back(location_json(location));
  report["locations"] = std::move(locations);
  // Provider messages may carry invalid UTF-8; replacing it keeps the dump from throwing and the
  // output valid JSON.
  return report.dump(2, ' ', false, Json::error_handler_t::replace) + "\n";
}

}  // namespace hsmproof::report
