// `hsmproof rules` and `hsmproof permissions`: the catalog's metadata, printed.

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <nlohmann/json.hpp>
#include <set>
#include <ostream>

#include "cli/cli.h"
#include "cli/cli_parse.h"
#include "rules/baseline.h"
#include "rules/rule.h"

namespace hsmproof::cli {


int rules_command(const std::vector<std::string>& args, Io& io) {
  std::string format = "text";
  std::string baseline_name;
  CLI::App app{"Lists every check: its id, title, location kind, the requirement it implements and "
               "the permissions it needs.",
               "hsmproof rules"};
  app.add_option("--format", format, "Output format")
      ->check(CLI::IsMember({"text", "json"}))
      ->type_name("text|json");
  app.add_option("--baseline", baseline_name, "Only the checks this baseline runs")
      ->type_name("NAME");
  if (auto parsed = parse_command_line(app, args, io); parsed.has_value()) return *parsed;

  std::set<std::string> selected;
  if (!baseline_name.empty()) {
    const auto baseline = rules::builtin_baseline(baseline_name);
    if (!baseline.ok()) {
      io.err << "hsmproof rules: " << baseline.error().message << "\n";
      return kExitUsage;
    }
    for (const auto& [kind, ids] : baseline.value().checks_by_kind) selected.insert(ids.begin(), ids.end());
  }

  nlohmann::ordered_json list = nlohmann::ordered_json::array();
  for (const auto& check : rules::catalog()) {
    const auto& meta = check.metadata;
    if (!selected.empty() && selected.count(std::string(meta.id)) == 0) continue;
    if (format == "json") {
      nlohmann::ordered_json entry;
      entry["id"] = meta.id;
      entry["title"] = meta.title;
      entry["location_kind"] = meta.location_kind;
      entry["additional_location_kinds"] = meta.additional_location_kinds;
      entry["severity"] = meta.severity;
      entry["requirement"] = meta.requirement;
      entry["permissions"] = meta.permissions;
      list.push_back(entry);
      continue;
    }
    std::string kinds(meta.location_kind);
    for (const auto kind : meta.additional_location_kinds) kinds += ", " + std::string(kind);
    io.out << meta.id << "\n  " << meta.title << "\n  location: " << kinds
           << "   severity: " << meta.severity << "\n  requirement: " << meta.requirement
           << "\n  permissions: " << fmt::format("{}", fmt::join(meta.permissions, ", ")) << "\n\n";
  }
  if (format == "json") io.out << list.dump(2) << "\n";
  return kExitPass;
}

int permissions_command(const std::vector<std::string>& args, Io& io) {
  std::string provider;
  std::string baseline_name = "entrust";
  CLI::App app{"Prints the least-privilege policy the scan needs: for aws, an IAM policy document "
               "to attach to the scanning user or role.",
               "hsmproof permissions"};
  app.add_option("provider", provider, "Cloud provider")
      ->required()
      ->check(CLI::IsMember({"aws"}))
      ->type_name("aws");
  app.add_option("--baseline", baseline_name, "The checks whose permissions are needed")
      ->type_name("NAME");
  if (auto parsed = parse_command_line(app, args, io); parsed.has_value()) return *parsed;

  const auto baseline = rules::builtin_baseline(baseline_name);
  if (!baseline.ok()) {
    io.err << "hsmproof permissions: " << baseline.error().message << "\n";
    return kExitUsage;
  }
  const auto actions = rules::aws_required_permissions(baseline.value());
  nlohmann::ordered_json statement;
  statement["Sid"] = "HsmproofReadOnlyScan";
  statement["Effect"] = "Allow";
  statement["Action"] = actions;
  statement["Resource"] = "*";
  nlohmann::ordered_json policy;
  policy["Version"] = "2012-10-17";
  policy["Statement"] = nlohmann::ordered_json::array({statement});
  io.out << policy.dump(2) << "\n";
  return kExitPass;
}

}  // namespace hsmproof::cli
