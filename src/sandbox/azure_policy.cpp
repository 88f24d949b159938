// Azure Policy through Resource Manager: assignments, exemptions and policy set definitions
// (Microsoft.Authorization), and policy states (Microsoft.PolicyInsights queryResults and
// summarize) with the OData $filter subset clients use.
//
// The scenario's policy_states are the raw evaluation results; what a client sees is filtered
// the way Azure Policy works: a state exists only for a resource its assignment covers (the
// assignment's scope is at or above the resource, and no notScope is), whatever the scenario says.

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <map>
#include <memory>
#include <set>

#include "sandbox/azure_common.h"

namespace hsmproof::sandbox::azure_impl {

namespace {

constexpr std::size_t kAssignmentPageSize = 500;
constexpr std::size_t kPolicyStatesPageSize = 1000;
constexpr const char* kAssignmentsPath = "/providers/Microsoft.Authorization/policyAssignments/";
constexpr const char* kExemptionsPath = "/providers/Microsoft.Authorization/policyExemptions/";
constexpr const char* kSetDefinitionsPath =
    "/providers/Microsoft.Authorization/policySetDefinitions/";
constexpr const char* kInvalidFilter = "InvalidFilterInQueryString";

std::string strip_trailing_slash(std::string text) {
  while (text.size() > 1 && text.back() == '/') text.pop_back();
  return text;
}

std::string last_segment(const std::string& id) {
  const std::vector<std::string> segments = split_path(id);
  return segments.empty() ? std::string() : segments.back();
}

// A GUID-shaped value derived from a text, for fields the scenario does not name (instanceId).
std::string derived_guid(const std::string& seed) {
  const std::string hex = sha256_hex(seed);
  return fmt::format("{}-{}-{}-{}-{}", hex.substr(0, 8), hex.substr(8, 4), hex.substr(12, 4),
                     hex.substr(16, 4), hex.substr(20, 12));
}

// ---- assignments ----

struct AssignmentRef {
  const PolicyAssignmentSpec* spec = nullptr;
  const SubscriptionSpec* declared_in = nullptr;
  std::string scope;
  std::string id;
};

std::vector<AssignmentRef> all_assignments(const AzureTenantSpec& tenant) {
  std::vector<AssignmentRef> assignments;
  std::set<std::string> seen;
  for (const SubscriptionSpec& subscription : tenant.subscriptions) {
    for (const PolicyAssignmentSpec& spec : subscription.policy_assignments) {
      AssignmentRef ref{&spec, &subscription, strip_trailing_slash(spec.scope), ""};
      ref.id = ref.scope + kAssignmentsPath + spec.name;
      // A management-group assignment may be written under each subscription below it.
      if (seen.insert(to_lower(ref.id)).second) assignments.push_back(std::move(ref));
    }
  }
  return assignments;
}

// The assignment a state or exemption names: first in its own subscription, then anywhere.
const AssignmentRef* find_assignment(const std::vector<AssignmentRef>& assignments,
                                     const SubscriptionSpec& subscription,
                                     const std::string& name) {
  for (const AssignmentRef& ref : assignments) {
    if (ref.declared_in == &subscription && iequals(ref.spec->name, name)) return &ref;
  }
  for (const AssignmentRef& ref : assignments) {
    if (iequals(ref.spec->name, name)) return &ref;
  }
  return nullptr;
}

bool is_set_definition(const std::string& definition_id) {
  return to_lower(definition_id).find("/policysetdefinitions/") != std::string::npos;
}

ordered_json assignment_json(const AssignmentRef& ref) {
  const PolicyAssignmentSpec& spec = *ref.spec;
  return ordered_json{
      {"id", ref.id},
      {"type", "Microsoft.Authorization/policyAssignments"},
      {"name", spec.name},
      {"properties",
       {{"displayName", spec.display_name.empty() ? spec.name : spec.display_name},
        {"metadata", {{"createdOn", "2023-01-01T00:00:00Z"}}},
        {"policyDefinitionId", spec.policy_definition_id},
        {"definitionVersion", "1.*.*"},
        {"parameters", ordered_json::object()},
        {"scope", ref.scope},
        {"notScopes", spec.not_scopes},
        {"enforcementMode", spec.enforcement_mode},
        {"instanceId", derived_guid(to_lower(ref.id))}}},
  };
}

// ---- list filters of assignments and exemptions ----

struct ListFilter {
  enum class Mode { kAll, kAtScope, kAtExactScope };
  Mode mode = Mode::kAll;
  std::optional<std::string> policy_definition_id;
  std::optional<std::string> policy_assignment_id;
  bool exclude_expired = false;
};

std::string trim(const std::string& text) {
  std::size_t begin = 0;
  std::size_t end = text.size();
  while (begin < end && std::isspace(static_cast<unsigned char>(text[begin]))) ++begin;
  while (end > begin && std::isspace(static_cast<unsigned char>(text[end - 1]))) --end;
  return text.substr(begin, end - begin);
}

AzureError invalid_filter(const std::string& filter) {
  return AzureError{400, kInvalidFilter,
                    fmt::format("Invalid $filter '{}' specified in the query string.", filter)};
}

// "name eq 'value'" with '' as an escaped quote.
std::optional<std::string> equality_value(const std::string& term, const std::string& name) {
  const std::string lowered = to_lower(term);
  const std::string prefix = to_lower(name);
  if (lowered.rfind(prefix, 0) != 0) return std::nullopt;
  std::string rest = trim(term.substr(prefix.size()));
  if (!istarts_with(rest, "eq ")) return std::nullopt;
  rest = trim(rest.substr(3));
  if (rest.size() < 2 || rest.front() != '\'' || rest.back() != '\'') return std::nullopt;
  std::string value;
  for (std::size_t i = 1; i + 1 < rest.size(); ++i) {
    if (rest[i] == '\'' && i + 2 < rest.size() && rest[i + 1] == '\'') ++i;
    value += rest[i];
  }
  return value;
}

ListFilter parse_list_filter(const SandboxRequest& request, bool exemptions) {
  ListFilter filter;
  const std::optional<std::string> text = query_value(request, "$filter");
  if (!text || trim(*text).empty()) return filter;
  std::vector<std::string> terms;
  std::string rest = *text;
  while (true) {
    const std::size_t at = to_lower(rest).find(" and ");
    terms.push_back(trim(rest.substr(0, at)));
    if (at == std::string::npos) break;
    rest = rest.substr(at + 5);
  }
  for (const std::string& term : terms) {
    const std::string lowered = to_lower(term);
    if (lowered == "atscope()") {
      filter.mode = ListFilter::Mode::kAtScope;
    } else if (lowered == "atexactscope()") {
      filter.mode = ListFilter::Mode::kAtExactScope;
    } else if (exemptions && lowered == "excludeexpired()") {
      filter.exclude_expired = true;
    } else if (std::optional<std::string> id =
                   equality_value(term, exemptions ? "policyAssignmentId" : "policyDefinitionId")) {
      (exemptions ? filter.policy_assignment_id : filter.policy_definition_id) = *id;
    } else {
      throw invalid_filter(*text);
    }
  }
  return filter;
}

bool scope_selected(const AzureTenantSpec& tenant, const ListFilter& filter,
                    const std::string& item_scope, const std::string& query_scope) {
  switch (filter.mode) {
    case ListFilter::Mode::kAtExactScope:
      return iequals(strip_trailing_slash(item_scope), query_scope);
    case ListFilter::Mode::kAtScope:
      return scope_covers(tenant, item_scope, query_scope);
    case ListFilter::Mode::kAll:
      // At the scope, above it, or below it (what unfiltered lists return).
      return scope_covers(tenant, item_scope, query_scope) ||
             scope_covers(tenant, query_scope, item_scope);
  }
  return false;
}

// ---- exemptions ----

struct ExemptionRef {
  const PolicyExemptionSpec* spec = nullptr;
  const SubscriptionSpec* declared_in = nullptr;
  std::string scope;
  std::string id;
  std::string assignment_id;
};

std::vector<ExemptionRef> all_exemptions(const AzureTenantSpec& tenant,
                                         const std::vector<AssignmentRef>& assignments) {
  std::vector<ExemptionRef> exemptions;
  std::set<std::string> seen;
  for (const SubscriptionSpec& subscription : tenant.subscriptions) {
    for (const PolicyExemptionSpec& spec : subscription.policy_exemptions) {
      ExemptionRef ref{&spec, &subscription, strip_trailing_slash(spec.scope), "", ""};
      ref.id = ref.scope + kExemptionsPath + spec.name;
      const AssignmentRef* assignment =
          find_assignment(assignments, subscription, spec.policy_assignment_name);
      ref.assignment_id = assignment != nullptr
                              ? assignment->id
                              : "/subscriptions/" + subscription.subscription_id +
                                    kAssignmentsPath + spec.policy_assignment_name;
      if (seen.insert(to_lower(ref.id)).second) exemptions.push_back(std::move(ref));
    }
  }
  return exemptions;
}

ordered_json exemption_json(const AzureTenantSpec& tenant, const ExemptionRef& ref) {
  const PolicyExemptionSpec& spec = *ref.spec;
  ordered_json properties{{"policyAssignmentId", ref.assignment_id}};
  // Absent reference ids mean the whole assignment; absent expiresOn means never.
  if (!spec.policy_definition_reference_ids.empty()) {
    properties["policyDefinitionReferenceIds"] = spec.policy_definition_reference_ids;
  }
  properties["exemptionCategory"] = spec.category;
  if (!spec.expires_on.empty()) properties["expiresOn"] = spec.expires_on;
  properties["displayName"] = spec.name;
  properties["metadata"] = ordered_json::object();
  properties["assignmentScopeValidation"] = "Default";
  return ordered_json{
      {"properties", std::move(properties)},
      {"systemData",
       {{"createdBy", tenant.client_id},
        {"createdByType", "Application"},
        {"createdAt", "2023-01-01T00:00:00Z"},
        {"lastModifiedBy", tenant.client_id},
        {"lastModifiedByType", "Application"},
        {"lastModifiedAt", "2023-01-01T00:00:00Z"}}},
      {"id", ref.id},
      {"type", "Microsoft.Authorization/policyExemptions"},
      {"name", spec.name},
  };
}

bool expired(const PolicyExemptionSpec& spec) {
  if (spec.expires_on.empty()) return false;
  const std::optional<std::int64_t> expires = parse_iso8601(spec.expires_on);
  return expires && *expires < epoch_now();
}

// ---- policy set definitions ----

ordered_json set_definition_json(const PolicySetDefinitionSpec& spec) {
  ordered_json definitions = ordered_json::array();
  for (const auto& [definition_id, reference_id] : spec.definitions) {
    definitions.push_back(ordered_json{{"policyDefinitionReferenceId", reference_id},
                                       {"policyDefinitionId", definition_id},
                                       {"parameters", ordered_json::object()},
                                       {"groupNames", ordered_json::array()}});
  }
  const bool built_in = istarts_with(spec.id, kSetDefinitionsPath);
  return ordered_json{
      {"id", spec.id},
      {"name", last_segment(spec.id)},
      {"type", "Microsoft.Authorization/policySetDefinitions"},
      {"properties",
       {{"displayName", spec.display_name.empty() ? last_segment(spec.id) : spec.display_name},
        {"policyType", built_in ? "BuiltIn" : "Custom"},
        {"description", ""},
        {"metadata", {{"category", "Key Vault"}}},
        {"version", "1.0.0"},
        {"parameters", ordered_json::object()},
        {"policyDefinitions", std::move(definitions)},
        {"policyDefinitionGroups", ordered_json::array()}}},
  };
}

const PolicySetDefinitionSpec* find_set_definition(const AzureTenantSpec& tenant,
                                                   const std::string& id) {
  for (const PolicySetDefinitionSpec& spec : tenant.policy_set_definitions) {
    if (iequals(strip_trailing_slash(spec.id), strip_trailing_slash(id))) return &spec;
  }
  return nullptr;
}

// Policy set definitions live at the tenant (built-in), a management group or a subscription.
std::string checked_definition_scope(const ArmCall& call, const std::string& scope_path) {
  if (split_path(scope_path).empty()) return "";
  const Scope scope =
      resolve_scope(call.tenant, scope_path, "Microsoft.Authorization/policySetDefinitions/read");
  if (scope.kind == Scope::Kind::kResourceGroup || scope.kind == Scope::Kind::kResource) {
    throw AzureError{
        400, "InvalidScope",
        fmt::format("The scope '{}' is not valid for policy set definitions.", scope.id)};
  }
  return scope.id;
}

// ---- policy states: records and the $filter language ----

// The effect each well-known built-in definition reports (policyDefinitionAction).
std::string definition_action(const std::string& definition_id) {
  static const std::map<std::string, std::string> kActions = {
      {"587c79fe-dd04-4a5e-9d0b-f89598c7261b", "audit"},
      {"cf820ca0-f99e-4f3e-84fb-66e913812d21", "auditifnotexists"},
      {"a2a5b911-5617-447e-a49e-59dbe0e0434b", "auditifnotexists"},
  };
  const auto found = kActions.find(to_lower(last_segment(definition_id)));
  return found == kActions.end() ? "audit" : found->second;
}

struct StateRecord {
  ordered_json json;
  std::string assignment_id;
  std::string definition_id;
  std::string reference_id;
  std::string set_definition_id;
  std::string resource_id;
  std::string compliance_state;
};

std::string scope_url_part(const std::string& scope_id) { return strip_trailing_slash(scope_id); }

std::string metadata_context(const ArmCall& call, const std::string& scope_id,
                             const std::string& suffix) {
  return call.context.base_url() + scope_url_part(scope_id) +
         "/providers/Microsoft.PolicyInsights/policyStates/$metadata#" + suffix;
}

// Locations of the vaults and managed HSMs by lower-cased resource id, built once per query.
using LocationIndex = std::map<std::string, std::string>;

LocationIndex location_index(const AzureTenantSpec& tenant) {
  LocationIndex index;
  for (const Container& container : all_containers(tenant)) {
    index.emplace(to_lower(container.resource_id()), container.location());
  }
  return index;
}

// A vault's or HSM's location, also for its keys (the first eight segments name the container).
std::optional<std::string> location_of(const LocationIndex& index, const std::string& resource) {
  const std::string container = to_lower(join_path(split_path(resource), 0, 8));
  const auto found = index.find(container);
  if (found == index.end()) return std::nullopt;
  return found->second;
}

StateRecord make_record(const ArmCall& call, const std::string& scope_id,
                        const SubscriptionSpec& subscription, const PolicyStateSpec& state,
                        const AssignmentRef& assignment, const LocationIndex& locations) {
  StateRecord record;
  record.assignment_id = assignment.id;
  record.definition_id = state.policy_definition_id;
  record.resource_id = state.resource_id;
  record.compliance_state = state.compliance_state;
  const bool set = is_set_definition(assignment.spec->policy_definition_id);
  if (set) {
    record.set_definition_id = assignment.spec->policy_definition_id;
    if (const PolicySetDefinitionSpec* definition =
            find_set_definition(call.tenant, record.set_definition_id)) {
      for (const auto& [definition_id, reference_id] : definition->definitions) {
        if (iequals(definition_id, state.policy_definition_id)) record.reference_id = reference_id;
      }
    }
  }
  auto or_null = [](const std::string& text) -> ordered_json {
    return text.empty() ? ordered_json(nullptr) : ordered_json(text);
  };
  std::string management_group_ids;
  for (const std::string& group : subscription.management_groups) {
    if (!management_group_ids.empty()) management_group_ids += ",";
    management_group_ids += group;
  }
  const std::optional<std::string> location = location_of(locations, state.resource_id);
  const std::string resource_group = resource_group_of(state.resource_id);
  record.json = ordered_json{
      {"@odata.id", nullptr},
      {"@odata.context", metadata_context(call, scope_id, "latest/$entity")},
      {"timestamp", state.timestamp},
      {"resourceId", state.resource_id},
      {"policyAssignmentId", assignment.id},
      {"policyDefinitionId", state.policy_definition_id},
      {"effectiveParameters", nullptr},
      {"isCompliant", iequals(state.compliance_state, "Compliant")},
      {"subscriptionId", subscription.subscription_id},
      {"resourceType", resource_type_of(state.resource_id)},
      {"resourceLocation", location ? ordered_json(*location) : ordered_json(nullptr)},
      {"resourceGroup", or_null(resource_group)},
      {"resourceTags", "tbd"},
      {"policyAssignmentName", assignment.spec->name},
      {"policyAssignmentOwner", "tbd"},
      {"policyAssignmentParameters", "{}"},
      {"policyAssignmentScope", assignment.scope},
      {"policyDefinitionName", last_segment(state.policy_definition_id)},
      {"policyDefinitionAction", definition_action(state.policy_definition_id)},
      {"policyDefinitionCategory", "tbd"},
      {"policySetDefinitionId", or_null(record.set_definition_id)},
      {"policySetDefinitionName",
       set ? ordered_json(last_segment(record.set_definition_id)) : ordered_json(nullptr)},
      {"policySetDefinitionOwner", nullptr},
      {"policySetDefinitionCategory", nullptr},
      {"policySetDefinitionParameters", nullptr},
      {"managementGroupIds", or_null(management_group_ids)},
      {"policyDefinitionReferenceId", or_null(record.reference_id)},
      {"complianceState", state.compliance_state},
      {"policyDefinitionGroupNames", ordered_json::array()},
      {"policyDefinitionVersion", "1.0.0"},
      {"policySetDefinitionVersion", set ? ordered_json("1.0.0") : ordered_json(nullptr)},
      {"policyAssignmentVersion", "1.0.0"},
  };
  return record;
}

// Every state visible at the scope: the resource under the scope, its assignment existing and
// covering the resource, and the resource in none of the assignment's notScopes.
std::vector<StateRecord> visible_states(const ArmCall& call, const Scope& scope,
                                        const std::optional<std::string>& only_assignment) {
  const std::vector<AssignmentRef> assignments = all_assignments(call.tenant);
  const LocationIndex locations = location_index(call.tenant);
  std::vector<StateRecord> records;
  for (const SubscriptionSpec& subscription : call.tenant.subscriptions) {
    for (const PolicyStateSpec& state : subscription.policy_states) {
      if (!scope_covers(call.tenant, scope.id, state.resource_id)) continue;
      const AssignmentRef* assignment =
          find_assignment(assignments, subscription, state.policy_assignment_name);
      if (assignment == nullptr) continue;
      if (only_assignment && !iequals(assignment->id, *only_assignment)) continue;
      if (!scope_covers(call.tenant, assignment->scope, state.resource_id)) continue;
      bool excluded = false;
      for (const std::string& not_scope : assignment->spec->not_scopes) {
        if (scope_covers(call.tenant, not_scope, state.resource_id)) excluded = true;
      }
      if (excluded) continue;
      records.push_back(make_record(call, scope.id, subscription, state, *assignment, locations));
    }
  }
  return records;
}

// The OData subset: comparisons (eq ne gt ge lt le) of a field with a string, boolean, null or
// number literal, joined by and/or/not and parentheses. Field names and strings compare
// case-insensitively, as the service does.
struct FilterNode {
  enum class Kind { kAnd, kOr, kNot, kCompare };
  Kind kind = Kind::kCompare;
  std::unique_ptr<FilterNode> left;
  std::unique_ptr<FilterNode> right;
  std::string field;
  std::string op;
  ordered_json literal;
};

class FilterParser {
 public:
  FilterParser(std::string text, std::vector<std::string> fields)
      : text_(std::move(text)), fields_(std::move(fields)) {}

  std::unique_ptr<FilterNode> parse() {
    auto node = parse_or();
    skip_space();
    if (position_ != text_.size()) fail();
    return node;
  }

 private:
  [[noreturn]] void fail() const { throw invalid_filter(text_); }

  void skip_space() {
    while (position_ < text_.size() && std::isspace(static_cast<unsigned char>(text_[position_]))) {
      ++position_;
    }
  }

  std::string peek_word() {
    skip_space();
    std::size_t end = position_;
    while (end < text_.size() && (std::isalnum(static_cast<unsigned char>(text_[end])) ||
                                  text_[end] == '_' || text_[end] == '.')) {
      ++end;
    }
    return text_.substr(position_, end - position_);
  }

  bool accept_word(const std::string& word) {
    const std::string next = peek_word();
    if (!iequals(next, word)) return false;
    position_ += next.size();
    return true;
  }

  std::unique_ptr<FilterNode> parse_or() {
    auto left = parse_and();
    while (accept_word("or")) {
      auto node = std::make_unique<FilterNode>();
      node->kind = FilterNode::Kind::kOr;
      node->left = std::move(left);
      node->right = parse_and();
      left = std::move(node);
    }
    return left;
  }

  std::unique_ptr<FilterNode> parse_and() {
    auto left = parse_unary();
    while (accept_word("and")) {
      auto node = std::make_unique<FilterNode>();
      node->kind = FilterNode::Kind::kAnd;
      node->left = std::move(left);
      node->right = parse_unary();
      left = std::move(node);
    }
    return left;
  }

  std::unique_ptr<FilterNode> parse_unary() {
    if (accept_word("not")) {
      auto node = std::make_unique<FilterNode>();
      node->kind = FilterNode::Kind::kNot;
      node->left = parse_unary();
      return node;
    }
    skip_space();
    if (position_ < text_.size() && text_[position_] == '(') {
      ++position_;
      auto node = parse_or();
      skip_space();
      if (position_ >= text_.size() || text_[position_] != ')') fail();
      ++position_;
      return node;
    }
    return parse_comparison();
  }

  std::unique_ptr<FilterNode> parse_comparison() {
    auto node = std::make_unique<FilterNode>();
    const std::string field = peek_word();
    if (field.empty()) fail();
    position_ += field.size();
    for (const std::string& known : fields_) {
      if (iequals(known, field)) node->field = known;
    }
    if (node->field.empty()) {
      throw AzureError{400, kInvalidFilter,
                       fmt::format("The property '{}' in the $filter '{}' is not a valid policy "
                                   "state property.",
                                   field, text_)};
    }
    const std::string op = to_lower(peek_word());
    static const std::vector<std::string> kOperators = {"eq", "ne", "gt", "ge", "lt", "le"};
    if (std::find(kOperators.begin(), kOperators.end(), op) == kOperators.end()) fail();
    position_ += op.size();
    node->op = op;
    node->literal = parse_literal();
    return node;
  }

  ordered_json parse_literal() {
    skip_space();
    if (position_ < text_.size() && text_[position_] == '\'') {
      std::string value;
      ++position_;
      while (true) {
        if (position_ >= text_.size()) fail();
        if (text_[position_] == '\'') {
          if (position_ + 1 < text_.size() && text_[position_ + 1] == '\'') {
            value += '\'';
            position_ += 2;
            continue;
          }
          ++position_;
          break;
        }
        value += text_[position_++];
      }
      return value;
    }
    const std::string word = peek_word();
    if (word.empty()) fail();
    position_ += word.size();
    if (iequals(word, "true")) return true;
    if (iequals(word, "false")) return false;
    if (iequals(word, "null")) return nullptr;
    ordered_json number = ordered_json::parse(word, nullptr, false);
    if (!number.is_number()) fail();
    return number;
  }

  std::string text_;
  std::vector<std::string> fields_;
  std::size_t position_ = 0;
};

bool compare(const ordered_json& value, const std::string& op, const ordered_json& literal) {
  int order = 0;
  bool comparable = true;
  if (literal.is_null() || value.is_null()) {
    comparable = false;
    order = literal.is_null() && value.is_null() ? 0 : 1;
  } else if (literal.is_string() && value.is_string()) {
    const std::string a = to_lower(value.get<std::string>());
    const std::string b = to_lower(literal.get<std::string>());
    order = a < b ? -1 : (a > b ? 1 : 0);
  } else if (literal.is_boolean() && value.is_boolean()) {
    order = value.get<bool>() == literal.get<bool>() ? 0 : 1;
    comparable = false;
  } else if (literal.is_number() && value.is_number()) {
    const double a = value.get<double>();
    const double b = literal.get<double>();
    order = a < b ? -1 : (a > b ? 1 : 0);
  } else {
    return op == "ne";
  }
  if (op == "eq") return order == 0;
  if (op == "ne") return order != 0;
  if (!comparable) return false;
  if (op == "gt") return order > 0;
  if (op == "ge") return order >= 0;
  if (op == "lt") return order < 0;
  return order <= 0;
}

bool evaluate(const FilterNode& node, const ordered_json& record) {
  switch (node.kind) {
    case FilterNode::Kind::kAnd:
      return evaluate(*node.left, record) && evaluate(*node.right, record);
    case FilterNode::Kind::kOr:
      return evaluate(*node.left, record) || evaluate(*node.right, record);
    case FilterNode::Kind::kNot:
      return !evaluate(*node.left, record);
    case FilterNode::Kind::kCompare:
      return compare(record.contains(node.field) ? record[node.field] : ordered_json(nullptr),
                     node.op, node.literal);
  }
  return false;
}

// The fields of a policy state record (the names a $filter may use).
const std::vector<std::string>& state_fields() {
  static const std::vector<std::string> kFields = {
      "timestamp",
      "resourceId",
      "policyAssignmentId",
      "policyDefinitionId",
      "effectiveParameters",
      "isCompliant",
      "subscriptionId",
      "resourceType",
      "resourceLocation",
      "resourceGroup",
      "resourceTags",
      "policyAssignmentName",
      "policyAssignmentOwner",
      "policyAssignmentParameters",
      "policyAssignmentScope",
      "policyDefinitionName",
      "policyDefinitionAction",
      "policyDefinitionCategory",
      "policySetDefinitionId",
      "policySetDefinitionName",
      "policySetDefinitionOwner",
      "policySetDefinitionCategory",
      "policySetDefinitionParameters",
      "managementGroupIds",
      "policyDefinitionReferenceId",
      "complianceState",
      "policyDefinitionVersion",
      "policySetDefinitionVersion",
      "policyAssignmentVersion",
  };
  return kFields;
}

std::vector<StateRecord> filtered(std::vector<StateRecord> records, const std::string& filter,
                                  const SandboxRequest& request) {
  if (!trim(filter).empty()) {
    const std::unique_ptr<FilterNode> tree = FilterParser(filter, state_fields()).parse();
    records.erase(
        std::remove_if(records.begin(), records.end(),
                       [&](const StateRecord& record) { return !evaluate(*tree, record.json); }),
        records.end());
  }
  // $from / $to bound the evaluation timestamp when given (the service's one-day default window
  // would hide every scenario state, whose timestamps are fixed).
  const std::optional<std::string> from = query_value(request, "$from");
  const std::optional<std::string> to = query_value(request, "$to");
  if (from || to) {
    const std::optional<std::int64_t> from_time = from ? parse_iso8601(*from) : std::nullopt;
    const std::optional<std::int64_t> to_time = to ? parse_iso8601(*to) : std::nullopt;
    if ((from && !from_time) || (to && !to_time)) {
      throw AzureError{400, "InvalidQueryParameterValue",
                       "The $from and $to parameters must be ISO 8601 date-times."};
    }
    records.erase(std::remove_if(records.begin(), records.end(),
                                 [&](const StateRecord& record) {
                                   const auto stamp = parse_iso8601(
                                       record.json["timestamp"].is_string()
                                           ? record.json["timestamp"].get<std::string>()
                                           : "");
                                   if (!stamp) return false;
                                   return (from_time && *stamp < *from_time) ||
                                          (to_time && *stamp > *to_time);
                                 }),
                  records.end());
  }
  return records;
}

// Scopes of policy state queries: management group, subscription, resource group, resource, or a
// policy assignment (`{scope}/providers/Microsoft.Authorization/policyAssignments/{name}`).
std::pair<Scope, std::optional<std::string>> resolve_state_scope(const ArmCall& call,
                                                                 const std::string& scope_path) {
  const std::string action = "Microsoft.PolicyInsights/policyStates/queryResults/read";
  const std::string lowered = to_lower(scope_path);
  const std::size_t at = lowered.rfind(to_lower(kAssignmentsPath));
  if (at != std::string::npos &&
      split_path(scope_path.substr(at + std::string(kAssignmentsPath).size())).size() == 1) {
    const std::string assignment_scope = scope_path.substr(0, at);
    const Scope scope = resolve_scope(call.tenant, assignment_scope, action);
    const std::string name = last_segment(scope_path);
    for (const AssignmentRef& ref : all_assignments(call.tenant)) {
      if (iequals(ref.scope, scope.id) && iequals(ref.spec->name, name)) {
        Scope assignment = scope;
        assignment.id = ref.scope;
        return {assignment, ref.id};
      }
    }
    throw AzureError{404, "PolicyAssignmentNotFound",
                     fmt::format("The policy assignment '{}' is not found.", name)};
  }
  return {resolve_scope(call.tenant, scope_path, action), std::nullopt};
}

// ---- summarize ----

int state_rank(const std::string& state) {
  static const std::vector<std::string> kOrder = {"noncompliant", "conflict",  "error", "unknown",
                                                  "protected",    "compliant", "exempt"};
  const auto found = std::find(kOrder.begin(), kOrder.end(), to_lower(state));
  return found == kOrder.end() ? static_cast<int>(kOrder.size())
                               : static_cast<int>(found - kOrder.begin());
}

// Counts per aggregated compliance state, lower-case as summarize writes it.
ordered_json state_counts(const std::map<std::string, std::string>& aggregated) {
  std::map<std::string, std::int64_t> counts;
  for (const auto& [key, state] : aggregated) ++counts[to_lower(state)];
  ordered_json details = ordered_json::array();
  for (const auto& [state, count] : counts) {
    details.push_back(ordered_json{{"complianceState", state}, {"count", count}});
  }
  return details;
}

ordered_json summary_results(const ArmCall& call, const std::string& scope_id,
                             const std::vector<const StateRecord*>& records,
                             const std::string& filter_suffix, bool with_policy_count) {
  std::map<std::string, std::string> by_resource;
  std::map<std::string, std::string> by_policy;
  auto worse = [](std::map<std::string, std::string>& map, const std::string& key,
                  const std::string& state) {
    auto [it, inserted] = map.emplace(key, state);
    if (!inserted && state_rank(state) < state_rank(it->second)) it->second = state;
  };
  for (const StateRecord* record : records) {
    worse(by_resource, to_lower(record->resource_id), record->compliance_state);
    worse(
        by_policy,
        to_lower(record->assignment_id + "|" + record->definition_id + "|" + record->reference_id),
        record->compliance_state);
  }
  auto non_compliant = [](const std::map<std::string, std::string>& map) {
    std::int64_t count = 0;
    for (const auto& [key, state] : map) count += iequals(state, "NonCompliant") ? 1 : 0;
    return count;
  };
  ordered_json results{
      {"queryResultsUri",
       call.context.base_url() + scope_url_part(scope_id) +
           "/providers/Microsoft.PolicyInsights/policyStates/latest/queryResults?api-version=" +
           call.api_version + "&$filter=IsCompliant eq false" + filter_suffix},
      {"nonCompliantResources", non_compliant(by_resource)},
  };
  if (with_policy_count) results["nonCompliantPolicies"] = non_compliant(by_policy);
  results["resourceDetails"] = state_counts(by_resource);
  results["policyDetails"] = state_counts(by_policy);
  results["policyGroupDetails"] = ordered_json::array();
  return results;
}

}  // namespace

// ---- entry points ----

SandboxResponse list_policy_assignments(const ArmCall& call, const std::string& scope_path) {
  const Scope scope =
      resolve_scope(call.tenant, scope_path, "Microsoft.Authorization/policyAssignments/read");
  const ListFilter filter = parse_list_filter(call.request, false);
  std::vector<ordered_json> items;
  for (const AssignmentRef& ref : all_assignments(call.tenant)) {
    if (!scope_selected(call.tenant, filter, ref.scope, scope.id)) continue;
    if (filter.policy_definition_id &&
        !iequals(ref.spec->policy_definition_id, *filter.policy_definition_id)) {
      continue;
    }
    items.push_back(assignment_json(ref));
  }
  return json_response(200, arm_page(call, items, kAssignmentPageSize));
}

SandboxResponse get_policy_assignment(const ArmCall& call, const std::string& scope_path,
                                      const std::string& name) {
  const Scope scope =
      resolve_scope(call.tenant, scope_path, "Microsoft.Authorization/policyAssignments/read");
  for (const AssignmentRef& ref : all_assignments(call.tenant)) {
    if (iequals(ref.scope, scope.id) && iequals(ref.spec->name, name)) {
      return json_response(200, assignment_json(ref));
    }
  }
  throw AzureError{404, "PolicyAssignmentNotFound",
                   fmt::format("The policy assignment '{}' is not found.", name)};
}

SandboxResponse list_policy_exemptions(const ArmCall& call, const std::string& scope_path) {
  const Scope scope =
      resolve_scope(call.tenant, scope_path, "Microsoft.Authorization/policyExemptions/read");
  const ListFilter filter = parse_list_filter(call.request, true);
  std::vector<ordered_json> items;
  for (const ExemptionRef& ref : all_exemptions(call.tenant, all_assignments(call.tenant))) {
    if (!scope_selected(call.tenant, filter, ref.scope, scope.id)) continue;
    if (filter.policy_assignment_id &&
        !iequals(ref.assignment_id, strip_trailing_slash(*filter.policy_assignment_id))) {
      continue;
    }
    if (filter.exclude_expired && expired(*ref.spec)) continue;
    items.push_back(exemption_json(call.tenant, ref));
  }
  return json_response(200, arm_page(call, items, kAssignmentPageSize));
}

SandboxResponse get_policy_exemption(const ArmCall& call, const std::string& scope_path,
                                     const std::string& name) {
  const Scope scope =
      resolve_scope(call.tenant, scope_path, "Microsoft.Authorization/policyExemptions/read");
  for (const ExemptionRef& ref : all_exemptions(call.tenant, all_assignments(call.tenant))) {
    if (iequals(ref.scope, scope.id) && iequals(ref.spec->name, name)) {
      return json_response(200, exemption_json(call.tenant, ref));
    }
  }
  throw AzureError{404, "PolicyExemptionNotFound",
                   fmt::format("The policy exemption '{}' is not found.", name)};
}

SandboxResponse list_policy_set_definitions(const ArmCall& call, const std::string& scope_path) {
  const std::string scope = checked_definition_scope(call, scope_path);
  // Built-ins, and the custom ones at the scope or above it.
  std::vector<ordered_json> items;
  for (const PolicySetDefinitionSpec& spec : call.tenant.policy_set_definitions) {
    const std::string lowered = to_lower(spec.id);
    const std::size_t at = lowered.rfind(to_lower(kSetDefinitionsPath));
    if (at == std::string::npos) continue;
    const std::string definition_scope = spec.id.substr(0, at);
    if (definition_scope.empty() ||
        (!scope.empty() && scope_covers(call.tenant, definition_scope, scope))) {
      items.push_back(set_definition_json(spec));
    }
  }
  return json_response(200, arm_page(call, items, kAssignmentPageSize));
}

SandboxResponse get_policy_set_definition(const ArmCall& call, const std::string& scope_path,
                                          const std::string& name) {
  const std::string scope = checked_definition_scope(call, scope_path);
  if (const PolicySetDefinitionSpec* spec =
          find_set_definition(call.tenant, scope + kSetDefinitionsPath + name)) {
    return json_response(200, set_definition_json(*spec));
  }
  // Built-in definitions are readable through any scope.
  if (const PolicySetDefinitionSpec* spec =
          find_set_definition(call.tenant, kSetDefinitionsPath + name)) {
    return json_response(200, set_definition_json(*spec));
  }
  throw AzureError{404, "PolicySetDefinitionNotFound",
                   fmt::format("The policy set definition '{}' could not be found.", name)};
}

SandboxResponse query_policy_states(const ArmCall& call, const std::string& scope_path) {
  const auto [scope, assignment_id] = resolve_state_scope(call, scope_path);
  // A next page comes back as a POST with $skiptoken; the token carries the query it continues.
  std::string filter = query_value(call.request, "$filter").value_or("");
  std::optional<std::size_t> top = top_parameter(call);
  std::size_t offset = 0;
  if (const std::optional<std::string> token = query_value(call.request, "$skiptoken")) {
    const ordered_json state = read_skip_token(*token);
    offset = state["offset"].get<std::size_t>();
    if (state.contains("filter") && state["filter"].is_string()) {
      filter = state["filter"].get<std::string>();
    }
    if (state.contains("top") && state["top"].is_number_unsigned()) {
      top = state["top"].get<std::size_t>();
    }
  }
  const std::vector<StateRecord> records =
      filtered(visible_states(call, scope, assignment_id), filter, call.request);
  const std::size_t size = top.value_or(kPolicyStatesPageSize);
  ordered_json value = ordered_json::array();
  for (std::size_t i = offset; i < records.size() && i < offset + size; ++i) {
    value.push_back(records[i].json);
  }
  ordered_json next_link = nullptr;
  if (offset + size < records.size()) {
    ordered_json state{{"offset", offset + size}};
    if (!filter.empty()) state["filter"] = filter;
    if (top) state["top"] = *top;
    next_link =
        arm_url(call, call.request.path,
                {{"api-version", call.api_version}, {"$skiptoken", make_skip_token(state)}});
  }
  const std::size_t count = value.size();
  return json_response(200, ordered_json{
                                {"@odata.nextLink", std::move(next_link)},
                                {"@odata.context", metadata_context(call, scope.id, "latest")},
                                {"@odata.count", count},
                                {"value", std::move(value)},
                            });
}

SandboxResponse summarize_policy_states(const ArmCall& call, const std::string& scope_path) {
  const auto [scope, assignment_id] = resolve_state_scope(call, scope_path);
  const std::vector<StateRecord> records =
      filtered(visible_states(call, scope, assignment_id),
               query_value(call.request, "$filter").value_or(""), call.request);
  std::vector<const StateRecord*> all;
  std::vector<std::string> assignment_order;
  std::map<std::string, std::vector<const StateRecord*>> by_assignment;
  for (const StateRecord& record : records) {
    all.push_back(&record);
    const std::string key = to_lower(record.assignment_id);
    if (!by_assignment.count(key)) assignment_order.push_back(key);
    by_assignment[key].push_back(&record);
  }
  ordered_json assignments = ordered_json::array();
  const std::optional<std::size_t> top = top_parameter(call);
  for (const std::string& key : assignment_order) {
    if (top && assignments.size() >= *top) break;
    const std::vector<const StateRecord*>& members = by_assignment[key];
    const StateRecord& first = *members.front();
    const std::string assignment_filter =
        fmt::format(" and PolicyAssignmentId eq '{}'", first.assignment_id);
    std::vector<std::string> definition_order;
    std::map<std::string, std::vector<const StateRecord*>> by_definition;
    for (const StateRecord* record : members) {
      const std::string definition_key =
          to_lower(record->definition_id + "|" + record->reference_id);
      if (!by_definition.count(definition_key)) definition_order.push_back(definition_key);
      by_definition[definition_key].push_back(record);
    }
    ordered_json definitions = ordered_json::array();
    for (const std::string& definition_key : definition_order) {
      const std::vector<const StateRecord*>& definition_members = by_definition[definition_key];
      const StateRecord& sample = *definition_members.front();
      definitions.push_back(ordered_json{
          {"policyDefinitionId", sample.definition_id},
          {"policyDefinitionReferenceId", sample.reference_id},
          {"policyDefinitionGroupNames", ordered_json::array()},
          {"effect", definition_action(sample.definition_id)},
          {"results",
           summary_results(call, scope.id, definition_members,
                           assignment_filter +
                               fmt::format(" and PolicyDefinitionId eq '{}'", sample.definition_id),
                           false)},
      });
    }
    assignments.push_back(ordered_json{
        {"policyAssignmentId", first.assignment_id},
        {"policySetDefinitionId", first.set_definition_id},
        {"results", summary_results(call, scope.id, members, assignment_filter, true)},
        {"policyDefinitions", std::move(definitions)},
        {"policyGroups", ordered_json::array()},
    });
  }
  ordered_json summary{
      {"@odata.id", nullptr},
      {"@odata.context", metadata_context(call, scope.id, "summary/$entity")},
      {"results", summary_results(call, scope.id, all, "", true)},
      {"policyAssignments", std::move(assignments)},
  };
  return json_response(200, ordered_json{
                                {"@odata.context", metadata_context(call, scope.id, "summary")},
                                {"@odata.count", 1},
                                {"value", ordered_json::array({std::move(summary)})},
                            });
}

}  // namespace hsmproof::sandbox::azure_impl
