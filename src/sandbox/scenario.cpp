// Scenario files: parsing with validation (every error names the file, the JSON path and what to
// change), deterministic defaults for the ids a file leaves out, the JSON form, and generated
// scenarios for benchmarks.

#include "sandbox/scenario.h"

#include "core/text.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string_view>

#include "sandbox/faults.h"

namespace hsmproof::sandbox {

const std::map<std::string, std::string>& builtin_scenario_sources();

namespace {

using nlohmann::json;

// Thrown inside this file only: a validation failure deep in the tree needs no plumbing back up.
// parse_scenario turns it into an Error.
class ScenarioError : public std::runtime_error {
 public:
  ScenarioError(const std::string& path, const std::string& message)
      : std::runtime_error(path.empty() ? message : path + ": " + message) {}
};

[[noreturn]] void fail(const std::string& path, const std::string& message) {
  throw ScenarioError(path, message);
}

std::string json_quoted(const std::string& text) { return json(text).dump(); }

std::string type_name(const json& value) {
  switch (value.type()) {
    case json::value_t::null:
      return "null";
    case json::value_t::boolean:
      return "a boolean";
    case json::value_t::number_integer:
    case json::value_t::number_unsigned:
    case json::value_t::number_float:
      return "a number";
    case json::value_t::string:
      return "a string";
    case json::value_t::array:
      return "an array";
    case json::value_t::object:
      return "an object";
    default:
      return "an unsupported value";
  }
}

std::string join(const std::vector<std::string>& items, const char* separator = ", ") {
  return fmt::format("{}", fmt::join(items, separator));
}

std::string index_path(const std::string& path, std::size_t index) {
  return fmt::format("{}[{}]", path, index);
}

void require_one_of(const std::string& path, const std::string& value,
                    const std::vector<std::string>& allowed, const std::string& what) {
  if (std::find(allowed.begin(), allowed.end(), value) != allowed.end()) return;
  fail(path,
       fmt::format("{} is not {} (expected one of {})", json_quoted(value), what, join(allowed)));
}

// One JSON object at a path: refuses fields it does not know, reads typed members.
class Fields {
 public:
  Fields(const json& node, std::string path, std::vector<std::string> known)
      : node_(node), path_(std::move(path)), known_(std::move(known)) {
    if (!node_.is_object()) fail(path_, "expected an object, got " + type_name(node_));
    for (const auto& item : node_.items()) {
      if (std::find(known_.begin(), known_.end(), item.key()) != known_.end()) continue;
      std::string best;
      std::size_t best_distance = 3;
      for (const auto& name : known_) {
        const std::size_t distance = edit_distance(item.key(), name);
        if (distance < best_distance) {
          best_distance = distance;
          best = name;
        }
      }
      // "regions" for "enabled_regions": a name inside a known one is a likely intent too.
      for (const auto& name : known_) {
        if (!best.empty()) break;
        if (item.key().size() >= 4 && name.find(item.key()) != std::string::npos) best = name;
      }
      std::string message = "unknown field";
      if (!best.empty()) message += "; did you mean " + json_quoted(best) + "?";
      message += " (known fields: " + join(known_) + ")";
      fail(child(item.key()), message);
    }
  }

  [[nodiscard]] std::string child(const std::string& name) const {
    return path_.empty() ? name : path_ + "." + name;
  }
  [[nodiscard]] const std::string& path() const { return path_; }
  [[nodiscard]] const json* find(const std::string& name) const {
    const auto it = node_.find(name);
    return it == node_.end() ? nullptr : &*it;
  }
  [[nodiscard]] bool has(const std::string& name) const { return find(name) != nullptr; }

  std::optional<std::string> string(const std::string& name) const {
    const json* value = find(name);
    if (value == nullptr) return std::nullopt;
    if (!value->is_string()) fail(child(name), "expected a string, got " + type_name(*value));
    return value->get<std::string>();
  }
  std::string required_string(const std::string& name) const {
    auto value = string(name);
    if (!value) fail(child(name), "required field is missing");
    if (value->empty()) fail(child(name), "must not be empty");
    return *value;
  }
  void read(const std::string& name, std::string& out) const {
    if (auto value = string(name)) out = *value;
  }
  void read(const std::string& name, bool& out) const {
    const json* value = find(name);
    if (value == nullptr) return;
    if (!value->is_boolean()) fail(child(name), "expected true or false, got " + type_name(*value));
    out = value->get<bool>();
  }
  std::optional<std::int64_t> integer(const std::string& name) const {
    const json* value = find(name);
    if (value == nullptr) return std::nullopt;
    if (!value->is_number_integer()) {
      fail(child(name), "expected a whole number, got " +
                            (value->is_number() ? std::string("a fraction") : type_name(*value)));
    }
    return value->get<std::int64_t>();
  }
  std::optional<double> number(const std::string& name) const {
    const json* value = find(name);
    if (value == nullptr) return std::nullopt;
    if (!value->is_number()) fail(child(name), "expected a number, got " + type_name(*value));
    return value->get<double>();
  }
  void read_int(const std::string& name, int& out, std::int64_t min, std::int64_t max) const {
    if (auto value = integer(name)) {
      if (*value < min || *value > max) {
        fail(child(name), fmt::format("{} is out of range (expected {} to {})", *value, min, max));
      }
      out = static_cast<int>(*value);
    }
  }
  std::vector<std::string> strings(const std::string& name) const {
    std::vector<std::string> out;
    const json* value = find(name);
    if (value == nullptr) return out;
    if (!value->is_array()) {
      fail(child(name), "expected an array of strings, got " + type_name(*value));
    }
    for (std::size_t i = 0; i < value->size(); ++i) {
      const json& item = (*value)[i];
      if (!item.is_string()) {
        fail(index_path(child(name), i), "expected a string, got " + type_name(item));
      }
      out.push_back(item.get<std::string>());
    }
    return out;
  }
  // The array's elements (empty when absent), each with its path.
  std::vector<std::pair<const json*, std::string>> array(const std::string& name) const {
    std::vector<std::pair<const json*, std::string>> out;
    const json* value = find(name);
    if (value == nullptr) return out;
    if (!value->is_array()) fail(child(name), "expected an array, got " + type_name(*value));
    for (std::size_t i = 0; i < value->size(); ++i) {
      out.emplace_back(&(*value)[i], index_path(child(name), i));
    }
    return out;
  }

 private:
  const json& node_;
  std::string path_;
  std::vector<std::string> known_;
};

// Reports the first repeated name in a list.
class UniqueNames {
 public:
  explicit UniqueNames(std::string what) : what_(std::move(what)) {}
  void add(const std::string& name, const std::string& path) {
    const auto [it, inserted] = seen_.emplace(name, path);
    if (!inserted) {
      fail(path, fmt::format("duplicate {} {} (already used at {})", what_, json_quoted(name),
                             it->second));
    }
  }

 private:
  std::string what_;
  std::map<std::string, std::string> seen_;
};

// ---- deterministic ids ----

std::uint64_t fnv1a(std::string_view text) {
  std::uint64_t hash = 0xcbf29ce484222325ULL;
  for (const char c : text) {
    hash ^= static_cast<unsigned char>(c);
    hash *= 0x100000001b3ULL;
  }
  return hash;
}

// splitmix64: a well-mixed stream from one 64-bit state, enough for ids that only need to be
// distinct and reproducible.
class IdStream {
 public:
  IdStream(std::uint64_t seed, std::string_view label) : state_(seed ^ fnv1a(label)) {}
  std::uint64_t next() {
    std::uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  std::string chars(std::size_t count, std::string_view alphabet) {
    std::string out;
    out.reserve(count);
    for (std::size_t i = 0; i < count; ++i) out.push_back(alphabet[next() % alphabet.size()]);
    return out;
  }

 private:
  std::uint64_t state_;
};

constexpr std::string_view kHexDigits = "0123456789abcdef";
constexpr std::string_view kUpperAlnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
constexpr std::string_view kSecretAlphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
constexpr std::string_view kBase32Lower = "abcdefghijklmnopqrstuvwxyz234567";

std::string derived_uuid(std::uint64_t seed, std::string_view label) {
  IdStream stream(seed, label);
  std::string hex = stream.chars(32, kHexDigits);
  hex[12] = '4';                                  // version 4 layout
  hex[16] = kHexDigits[8 + (stream.next() % 4)];  // RFC 4122 variant
  return fmt::format("{}-{}-{}-{}-{}", hex.substr(0, 8), hex.substr(8, 4), hex.substr(12, 4),
                     hex.substr(16, 4), hex.substr(20, 12));
}

std::string derived_chars(std::uint64_t seed, std::string_view label, std::size_t count,
                          std::string_view alphabet) {
  IdStream stream(seed, label);
  return stream.chars(count, alphabet);
}

// ---- vocabularies (the providers' enums) ----

const std::vector<std::string>& aws_region_names() {
  static const std::vector<std::string> names = {
      "us-east-1",      "us-east-2",      "us-west-1",      "us-west-2",      "af-south-1",
      "ap-east-1",      "ap-east-2",      "ap-south-1",     "ap-south-2",     "ap-northeast-1",
      "ap-northeast-2", "ap-northeast-3", "ap-southeast-1", "ap-southeast-2", "ap-southeast-3",
      "ap-southeast-4", "ap-southeast-5", "ap-southeast-7", "ca-central-1",   "ca-west-1",
      "eu-central-1",   "eu-central-2",   "eu-west-1",      "eu-west-2",      "eu-west-3",
      "eu-south-1",     "eu-south-2",     "eu-north-1",     "il-central-1",   "me-south-1",
      "me-central-1",   "mx-central-1",   "sa-east-1",      "cn-north-1",     "cn-northwest-1",
      "us-gov-west-1",  "us-gov-east-1"};
  return names;
}

// The regions every account has enabled by default, in the order --generate picks them.
const std::vector<std::string>& default_enabled_regions() {
  static const std::vector<std::string> names = {
      "us-east-1",      "eu-west-1",      "us-west-2",      "eu-central-1",   "ap-southeast-2",
      "us-east-2",      "us-west-1",      "eu-west-2",      "eu-west-3",      "eu-north-1",
      "ap-northeast-1", "ap-northeast-2", "ap-northeast-3", "ap-southeast-1", "ap-south-1",
      "ca-central-1",   "sa-east-1"};
  return names;
}

const std::vector<std::string> kKeySpecs = {
    "RSA_2048",          "RSA_3072",      "RSA_4096",        "ECC_NIST_P256",
    "ECC_NIST_P384",     "ECC_NIST_P521", "ECC_SECG_P256K1", "ECC_NIST_EDWARDS25519",
    "SYMMETRIC_DEFAULT", "HMAC_224",      "HMAC_256",        "HMAC_384",
    "HMAC_512",          "SM2",           "ML_DSA_44",       "ML_DSA_65",
    "ML_DSA_87"};
const std::vector<std::string> kKeyUsages = {"SIGN_VERIFY", "ENCRYPT_DECRYPT",
                                             "GENERATE_VERIFY_MAC", "KEY_AGREEMENT"};
const std::vector<std::string> kOrigins = {"AWS_KMS", "EXTERNAL", "AWS_CLOUDHSM",
                                           "EXTERNAL_KEY_STORE"};
const std::vector<std::string> kKeyStates = {"Creating",      "Enabled",
                                             "Disabled",      "PendingDeletion",
                                             "PendingImport", "PendingReplicaDeletion",
                                             "Unavailable",   "Updating"};
const std::vector<std::string> kKeyManagers = {"CUSTOMER", "AWS"};
const std::vector<std::string> kClusterStates = {"CREATE_IN_PROGRESS",
                                                 "UNINITIALIZED",
                                                 "INITIALIZE_IN_PROGRESS",
                                                 "INITIALIZED",
                                                 "ACTIVE",
                                                 "UPDATE_IN_PROGRESS",
                                                 "MODIFY_IN_PROGRESS",
                                                 "ROLLBACK_IN_PROGRESS",
                                                 "DELETE_IN_PROGRESS",
                                                 "DELETED",
                                                 "DEGRADED"};
const std::vector<std::string> kClusterModes = {"FIPS", "NON_FIPS"};
const std::vector<std::string> kHsmTypes = {"hsm1.medium", "hsm2m.medium"};
const std::vector<std::string> kHsmStates = {"CREATE_IN_PROGRESS", "ACTIVE", "DEGRADED",
                                             "DELETE_IN_PROGRESS", "DELETED"};
const std::vector<std::string> kReadWriteTypes = {"ReadOnly", "WriteOnly", "All"};
const std::vector<std::string> kAzureKeyTypes = {"RSA", "RSA-HSM", "EC", "EC-HSM"};
const std::vector<std::string> kAzureCurves = {"P-256", "P-384", "P-521", "P-256K"};
const std::vector<std::string> kHsmPlatforms = {"", "0", "1", "2"};
const std::vector<std::string> kVaultSkus = {"standard", "premium"};
const std::vector<std::string> kManagedHsmSkus = {"Standard_B1", "Custom_B32", "Custom_B6",
                                                  "Custom_C42", "Custom_C10"};
const std::vector<std::string> kProvisioningStates = {
    "Succeeded", "Provisioning",          "Failed",   "Updating", "Deleting",
    "Activated", "SecurityDomainRestore", "Restoring"};
const std::vector<std::string> kActivationStatuses = {"Active", "NotActivated", "Unknown",
                                                      "Failed"};
const std::vector<std::string> kEnforcementModes = {"Default", "DoNotEnforce"};
const std::vector<std::string> kComplianceStates = {"Compliant", "NonCompliant", "Unknown",
                                                    "Exempt",    "Conflict",     "NotStarted",
                                                    "Protected", "Error"};
const std::vector<std::string> kExemptionCategories = {"Waiver", "Mitigated"};
const std::vector<std::string> kFaultKinds = {"throttle", "server_error", "latency",
                                              "truncate", "reset",        "deny"};
const std::vector<std::string> kProviders = {"", "aws", "azure"};

// Patterns are string literals; compiling each once per thread keeps large generated scenarios
// (a million keys) quick to load.
bool matches(const std::string& text, const char* pattern) {
  thread_local std::map<const char*, std::regex> compiled;
  auto it = compiled.find(pattern);
  if (it == compiled.end()) it = compiled.emplace(pattern, std::regex(pattern)).first;
  return std::regex_match(text, it->second);
}

bool is_guid(const std::string& text) {
  return matches(text,
                 "[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}");
}

void require_guid(const std::string& path, const std::string& value, const char* what) {
  if (!is_guid(value)) {
    fail(path, fmt::format("{} is not {} (expected a GUID such as "
                           "00000000-0000-0000-0000-000000000000)",
                           json_quoted(value), what));
  }
}

void require_region(const std::string& path, const std::string& value) {
  const auto& names = aws_region_names();
  if (std::find(names.begin(), names.end(), value) != names.end()) return;
  fail(path, fmt::format("{} is not an AWS region name (expected one of {})", json_quoted(value),
                         join(names)));
}

void require_iso8601(const std::string& path, const std::string& value) {
  if (!matches(value, R"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2}))")) {
    fail(path, fmt::format("{} is not an ISO 8601 date-time (expected e.g. 2025-01-15T08:30:00Z)",
                           json_quoted(value)));
  }
}

// KMS only creates these KeySpec/KeyUsage pairs; a scenario must describe keys AWS could hold.
std::vector<std::string> usages_for_spec(const std::string& spec) {
  if (spec == "SYMMETRIC_DEFAULT") return {"ENCRYPT_DECRYPT"};
  if (spec.rfind("HMAC_", 0) == 0) return {"GENERATE_VERIFY_MAC"};
  if (spec.rfind("RSA_", 0) == 0) return {"SIGN_VERIFY", "ENCRYPT_DECRYPT"};
  if (spec == "ECC_SECG_P256K1" || spec == "ECC_NIST_EDWARDS25519" ||
      spec.rfind("ML_DSA_", 0) == 0) {
    return {"SIGN_VERIFY"};
  }
  if (spec.rfind("ECC_", 0) == 0) return {"SIGN_VERIFY", "KEY_AGREEMENT"};
  return {"SIGN_VERIFY", "ENCRYPT_DECRYPT", "KEY_AGREEMENT"};  // SM2
}

// ---- AWS ----

KmsKeySpec parse_kms_key(const json& node, const std::string& path, const AwsAccountSpec& account,
                         std::size_t index, std::uint64_t seed) {
  const Fields fields(node, path,
                      {"key_id", "region", "key_spec", "key_usage", "origin", "key_state",
                       "key_manager", "description", "multi_region", "aliases", "creation_date"});
  KmsKeySpec key;
  key.region = fields.required_string("region");
  require_region(fields.child("region"), key.region);
  fields.read("key_spec", key.key_spec);
  require_one_of(fields.child("key_spec"), key.key_spec, kKeySpecs, "a KMS KeySpec");
  const std::vector<std::string> usages = usages_for_spec(key.key_spec);
  if (fields.has("key_usage")) {
    fields.read("key_usage", key.key_usage);
    require_one_of(fields.child("key_usage"), key.key_usage, kKeyUsages, "a KMS KeyUsage");
    if (std::find(usages.begin(), usages.end(), key.key_usage) == usages.end()) {
      fail(fields.child("key_usage"),
           fmt::format("{} keys cannot have KeyUsage {} (expected one of {})", key.key_spec,
                       key.key_usage, join(usages)));
    }
  } else {
    key.key_usage = usages.front();
  }
  fields.read("origin", key.origin);
  require_one_of(fields.child("origin"), key.origin, kOrigins, "a KMS Origin");
  fields.read("key_state", key.key_state);
  require_one_of(fields.child("key_state"), key.key_state, kKeyStates, "a KMS KeyState");
  fields.read("key_manager", key.key_manager);
  require_one_of(fields.child("key_manager"), key.key_manager, kKeyManagers, "a KMS KeyManager");
  fields.read("description", key.description);
  fields.read("multi_region", key.multi_region);
  key.aliases = fields.strings("aliases");
  for (std::size_t i = 0; i < key.aliases.size(); ++i) {
    const std::string alias_path = index_path(fields.child("aliases"), i);
    const std::string& alias = key.aliases[i];
    if (!matches(alias, "alias/[a-zA-Z0-9/_-]{1,250}")) {
      fail(alias_path, fmt::format("{} is not a KMS alias name (expected alias/ followed by "
                                   "letters, digits, /, _ or -)",
                                   json_quoted(alias)));
    }
    const bool aws_reserved = alias.rfind("alias/aws/", 0) == 0;
    if (aws_reserved && key.key_manager != "AWS") {
      fail(alias_path, fmt::format("{}: alias/aws/ names belong to AWS managed keys; set "
                                   "\"key_manager\": \"AWS\" or choose another name",
                                   json_quoted(alias)));
    }
  }
  if (auto created = fields.integer("creation_date")) {
    if (*created < 0) fail(fields.child("creation_date"), "must be epoch seconds (0 or more)");
    key.creation_date = *created;
  }
  if (auto key_id = fields.string("key_id")) {
    if (!matches(*key_id,
                 "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|"
                 "mrk-[0-9a-f]{32}")) {
      fail(fields.child("key_id"),
           fmt::format("{} is not a KMS key id (expected a lower-case UUID, or mrk- and 32 hex "
                       "digits for a multi-Region key)",
                       json_quoted(*key_id)));
    }
    key.key_id = *key_id;
  } else if (key.multi_region) {
    key.key_id = "mrk-" + derived_chars(seed, fmt::format("kms/{}/{}", account.account_id, index),
                                        32, kHexDigits);
  } else {
    key.key_id = derived_uuid(seed, fmt::format("kms/{}/{}", account.account_id, index));
  }
  return key;
}

json parse_event_selectors(const json& node, const std::string& path) {
  if (!node.is_array()) fail(path, "expected an array of event selectors, got " + type_name(node));
  for (std::size_t i = 0; i < node.size(); ++i) {
    const std::string item_path = index_path(path, i);
    const Fields fields(node[i], item_path,
                        {"ReadWriteType", "IncludeManagementEvents", "DataResources",
                         "ExcludeManagementEventSources"});
    if (auto type = fields.string("ReadWriteType")) {
      require_one_of(fields.child("ReadWriteType"), *type, kReadWriteTypes, "a ReadWriteType");
    }
    bool include_management = true;
    fields.read("IncludeManagementEvents", include_management);
    for (const auto& [resource, resource_path] : fields.array("DataResources")) {
      const Fields data(*resource, resource_path, {"Type", "Values"});
      (void)data.required_string("Type");
      (void)data.strings("Values");
    }
    (void)fields.strings("ExcludeManagementEventSources");
  }
  return node;
}

json parse_advanced_event_selectors(const json& node, const std::string& path) {
  if (!node.is_array()) {
    fail(path, "expected an array of advanced event selectors, got " + type_name(node));
  }
  for (std::size_t i = 0; i < node.size(); ++i) {
    const Fields fields(node[i], index_path(path, i), {"Name", "FieldSelectors"});
    (void)fields.string("Name");
    if (!fields.has("FieldSelectors"))
      fail(fields.child("FieldSelectors"), "required field is missing");
    for (const auto& [selector, selector_path] : fields.array("FieldSelectors")) {
      const Fields field(*selector, selector_path,
                         {"Field", "Equals", "StartsWith", "EndsWith", "NotEquals", "NotStartsWith",
                          "NotEndsWith"});
      (void)field.required_string("Field");
      for (const char* name :
           {"Equals", "StartsWith", "EndsWith", "NotEquals", "NotStartsWith", "NotEndsWith"}) {
        (void)field.strings(name);
      }
    }
  }
  return node;
}

TrailSpec parse_trail(const json& node, const std::string& path) {
  const Fields fields(node, path,
                      {"name", "home_region", "multi_region", "organization", "logging",
                       "s3_bucket", "event_selectors", "advanced_event_selectors"});
  TrailSpec trail;
  trail.name = fields.required_string("name");
  if (!matches(trail.name, "[a-zA-Z0-9][a-zA-Z0-9._-]{2,127}")) {
    fail(fields.child("name"), fmt::format("{} is not a trail name (3 to 128 letters, digits, "
                                           "., _ or -, starting with a letter or digit)",
                                           json_quoted(trail.name)));
  }
  trail.home_region = fields.required_string("home_region");
  require_region(fields.child("home_region"), trail.home_region);
  fields.read("multi_region", trail.multi_region);
  fields.read("organization", trail.organization);
  fields.read("logging", trail.logging);
  fields.read("s3_bucket", trail.s3_bucket);
  if (!matches(trail.s3_bucket, "[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")) {
    fail(fields.child("s3_bucket"),
         fmt::format("{} is not an S3 bucket name", json_quoted(trail.s3_bucket)));
  }
  if (const json* selectors = fields.find("event_selectors")) {
    trail.event_selectors = parse_event_selectors(*selectors, fields.child("event_selectors"));
  }
  if (const json* advanced = fields.find("advanced_event_selectors")) {
    if (trail.event_selectors) {
      fail(fields.child("advanced_event_selectors"),
           "a trail uses either event_selectors or advanced_event_selectors, not both");
    }
    trail.advanced_event_selectors =
        parse_advanced_event_selectors(*advanced, fields.child("advanced_event_selectors"));
  }
  return trail;
}

CloudHsmClusterSpec parse_cluster(const json& node, const std::string& path,
                                  const AwsAccountSpec& account, std::size_t index,
                                  std::uint64_t seed) {
  const Fields fields(node, path, {"cluster_id", "region", "state", "mode", "hsm_type", "hsms"});
  CloudHsmClusterSpec cluster;
  cluster.region = fields.required_string("region");
  require_region(fields.child("region"), cluster.region);
  const std::string label = fmt::format("cloudhsm/{}/{}", account.account_id, index);
  if (auto id = fields.string("cluster_id")) {
    if (!matches(*id, "cluster-[2-7a-zA-Z]{11,16}")) {
      fail(fields.child("cluster_id"),
           fmt::format("{} is not a CloudHSM cluster id (expected cluster- and 11 letters or "
                       "digits 2-7)",
                       json_quoted(*id)));
    }
    cluster.cluster_id = *id;
  } else {
    cluster.cluster_id = "cluster-" + derived_chars(seed, label, 11, kBase32Lower);
  }
  fields.read("state", cluster.state);
  require_one_of(fields.child("state"), cluster.state, kClusterStates, "a CloudHSM cluster state");
  fields.read("mode", cluster.mode);
  require_one_of(fields.child("mode"), cluster.mode, kClusterModes, "a CloudHSM cluster mode");
  fields.read("hsm_type", cluster.hsm_type);
  require_one_of(fields.child("hsm_type"), cluster.hsm_type, kHsmTypes, "a CloudHSM HSM type");
  std::size_t hsm_index = 0;
  for (const auto& [hsm_node, hsm_path] : fields.array("hsms")) {
    const Fields hsm_fields(*hsm_node, hsm_path, {"hsm_id", "state", "availability_zone"});
    CloudHsmSpec hsm;
    if (auto id = hsm_fields.string("hsm_id")) {
      if (!matches(*id, "hsm-[2-7a-zA-Z]{11,16}")) {
        fail(hsm_fields.child("hsm_id"),
             fmt::format("{} is not an HSM id (expected hsm- and 11 letters or digits 2-7)",
                         json_quoted(*id)));
      }
      hsm.hsm_id = *id;
    } else {
      hsm.hsm_id = "hsm-" + derived_chars(seed, fmt::format("{}/hsm/{}", label, hsm_index), 11,
                                          kBase32Lower);
    }
    hsm_fields.read("state", hsm.state);
    require_one_of(hsm_fields.child("state"), hsm.state, kHsmStates, "a CloudHSM HSM state");
    hsm.availability_zone = cluster.region + static_cast<char>('a' + hsm_index % 3);
    hsm_fields.read("availability_zone", hsm.availability_zone);
    if (hsm.availability_zone.rfind(cluster.region, 0) != 0 ||
        !matches(hsm.availability_zone.substr(cluster.region.size()), "[a-z]")) {
      fail(hsm_fields.child("availability_zone"),
           fmt::format("{} is not an availability zone of {} (expected e.g. {}a)",
                       json_quoted(hsm.availability_zone), cluster.region, cluster.region));
    }
    cluster.hsms.push_back(std::move(hsm));
    ++hsm_index;
  }
  return cluster;
}

AwsAccountSpec parse_account(const json& node, const std::string& path, std::uint64_t seed) {
  const Fields fields(node, path,
                      {"account_id", "name", "access_key_id", "secret_access_key",
                       "enabled_regions", "disabled_regions", "keys", "trails", "clusters"});
  AwsAccountSpec account;
  account.account_id = fields.required_string("account_id");
  if (!matches(account.account_id, "[0-9]{12}")) {
    fail(fields.child("account_id"), fmt::format("{} is not an AWS account id (expected 12 digits)",
                                                 json_quoted(account.account_id)));
  }
  account.name = "account-" + account.account_id;
  fields.read("name", account.name);
  if (auto key_id = fields.string("access_key_id")) {
    if (!matches(*key_id, "(AKIA|ASIA)[A-Z2-7]{12,124}")) {
      fail(fields.child("access_key_id"),
           fmt::format("{} is not an access key id (expected AKIA and 16 upper-case letters or "
                       "digits 2-7)",
                       json_quoted(*key_id)));
    }
    account.access_key_id = *key_id;
  } else {
    account.access_key_id =
        "AKIA" + derived_chars(seed, "access-key/" + account.account_id, 16, kUpperAlnum);
  }
  if (auto secret = fields.string("secret_access_key")) {
    if (secret->size() < 16) {
      fail(fields.child("secret_access_key"), "must be at least 16 characters (AWS uses 40)");
    }
    account.secret_access_key = *secret;
  } else {
    account.secret_access_key =
        derived_chars(seed, "secret-key/" + account.account_id, 40, kSecretAlphabet);
  }

  std::size_t index = 0;
  for (const auto& [key_node, key_path] : fields.array("keys")) {
    account.keys.push_back(parse_kms_key(*key_node, key_path, account, index++, seed));
  }
  for (const auto& [trail_node, trail_path] : fields.array("trails")) {
    account.trails.push_back(parse_trail(*trail_node, trail_path));
  }
  index = 0;
  for (const auto& [cluster_node, cluster_path] : fields.array("clusters")) {
    account.clusters.push_back(parse_cluster(*cluster_node, cluster_path, account, index++, seed));
  }

  UniqueNames region_names("region");
  if (fields.has("enabled_regions")) {
    account.enabled_regions = fields.strings("enabled_regions");
    for (std::size_t i = 0; i < account.enabled_regions.size(); ++i) {
      const std::string region_path = index_path(fields.child("enabled_regions"), i);
      require_region(region_path, account.enabled_regions[i]);
      region_names.add(account.enabled_regions[i], region_path);
    }
  } else {
    // Where the account has something, plus us-east-1 (STS and Organizations live there).
    std::set<std::string> used = {"us-east-1"};
    for (const auto& key : account.keys) used.insert(key.region);
    for (const auto& trail : account.trails) used.insert(trail.home_region);
    for (const auto& cluster : account.clusters) used.insert(cluster.region);
    account.enabled_regions.assign(used.begin(), used.end());
  }
  account.disabled_regions = fields.strings("disabled_regions");
  for (std::size_t i = 0; i < account.disabled_regions.size(); ++i) {
    const std::string region_path = index_path(fields.child("disabled_regions"), i);
    require_region(region_path, account.disabled_regions[i]);
    region_names.add(account.disabled_regions[i], region_path);
  }
  if (account.enabled_regions.empty()) {
    fail(fields.child("enabled_regions"), "an account needs at least one enabled region");
  }
  const auto enabled = [&](const std::string& region) {
    return std::find(account.enabled_regions.begin(), account.enabled_regions.end(), region) !=
           account.enabled_regions.end();
  };

  UniqueNames key_ids("key id");
  std::map<std::string, UniqueNames> aliases_by_region;
  for (std::size_t i = 0; i < account.keys.size(); ++i) {
    const KmsKeySpec& key = account.keys[i];
    const std::string key_path = index_path(fields.child("keys"), i);
    key_ids.add(key.key_id, key_path + ".key_id");
    if (!enabled(key.region)) {
      fail(key_path + ".region",
           fmt::format("{} is not among the account's enabled_regions", json_quoted(key.region)));
    }
    auto& aliases =
        aliases_by_region.try_emplace(key.region, "alias in " + key.region).first->second;
    for (std::size_t a = 0; a < key.aliases.size(); ++a) {
      aliases.add(key.aliases[a], index_path(key_path + ".aliases", a));
    }
  }
  UniqueNames trail_names("trail name");
  for (std::size_t i = 0; i < account.trails.size(); ++i) {
    const std::string trail_path = index_path(fields.child("trails"), i);
    trail_names.add(account.trails[i].name, trail_path + ".name");
    if (!enabled(account.trails[i].home_region)) {
      fail(trail_path + ".home_region", fmt::format("{} is not among the account's enabled_regions",
                                                    json_quoted(account.trails[i].home_region)));
    }
  }
  UniqueNames cluster_ids("cluster id");
  UniqueNames hsm_ids("HSM id");
  for (std::size_t i = 0; i < account.clusters.size(); ++i) {
    const auto& cluster = account.clusters[i];
    const std::string cluster_path = index_path(fields.child("clusters"), i);
    cluster_ids.add(cluster.cluster_id, cluster_path + ".cluster_id");
    if (!enabled(cluster.region)) {
      fail(cluster_path + ".region", fmt::format("{} is not among the account's enabled_regions",
                                                 json_quoted(cluster.region)));
    }
    for (std::size_t h = 0; h < cluster.hsms.size(); ++h) {
      hsm_ids.add(cluster.hsms[h].hsm_id, index_path(cluster_path + ".hsms", h) + ".hsm_id");
    }
  }
  return account;
}

// ---- Azure ----

AzureKeySpec parse_azure_key(const json& node, const std::string& path, const std::string& owner,
                             bool managed_hsm, std::uint64_t seed) {
  const Fields fields(
      node, path,
      {"name", "kty", "key_size", "curve", "enabled", "exportable", "hsm_platform", "version"});
  AzureKeySpec key;
  key.name = fields.required_string("name");
  if (!matches(key.name, "[a-zA-Z0-9-]{1,127}")) {
    fail(fields.child("name"), fmt::format("{} is not a key name (1 to 127 letters, digits or -)",
                                           json_quoted(key.name)));
  }
  fields.read("kty", key.kty);
  require_one_of(fields.child("kty"), key.kty, kAzureKeyTypes, "a Key Vault key type (kty)");
  if (managed_hsm && key.kty.find("-HSM") == std::string::npos) {
    fail(fields.child("kty"), fmt::format("a managed HSM holds only HSM keys: {} is not "
                                          "RSA-HSM or EC-HSM",
                                          json_quoted(key.kty)));
  }
  const bool rsa = key.kty.rfind("RSA", 0) == 0;
  if (rsa) {
    if (fields.has("curve")) fail(fields.child("curve"), "an RSA key has no curve; remove it");
    fields.read_int("key_size", key.key_size, 0, 16384);
    if (key.key_size != 2048 && key.key_size != 3072 && key.key_size != 4096) {
      fail(fields.child("key_size"),
           fmt::format("{} is not an RSA key size Key Vault offers (expected 2048, 3072 or 4096)",
                       key.key_size));
    }
  } else {
    if (fields.has("key_size")) {
      fail(fields.child("key_size"), "an EC key's size comes from its curve; remove key_size");
    }
    key.key_size = 0;
    key.curve = "P-256";
    fields.read("curve", key.curve);
    require_one_of(fields.child("curve"), key.curve, kAzureCurves, "a Key Vault curve name");
  }
  fields.read("enabled", key.enabled);
  fields.read("exportable", key.exportable);
  // Only HSM-protected keys report an HSM platform; software keys leave it out.
  key.hsm_platform = key.kty.find("-HSM") != std::string::npos ? "2" : "";
  fields.read("hsm_platform", key.hsm_platform);
  require_one_of(fields.child("hsm_platform"), key.hsm_platform, kHsmPlatforms,
                 "an hsmPlatform value (\"\" for none)");
  if (auto version = fields.string("version")) {
    if (!matches(*version, "[0-9a-f]{32}")) {
      fail(fields.child("version"),
           fmt::format("{} is not a key version (expected 32 lower-case hex digits)",
                       json_quoted(*version)));
    }
    key.version = *version;
  } else {
    key.version = derived_chars(seed, "key-version/" + owner + "/" + key.name, 32, kHexDigits);
  }
  return key;
}

std::vector<DiagnosticSettingSpec> parse_diagnostic_settings(const Fields& owner) {
  std::vector<DiagnosticSettingSpec> settings;
  UniqueNames names("diagnostic setting name");
  for (const auto& [node, path] : owner.array("diagnostic_settings")) {
    const Fields fields(*node, path, {"name", "properties"});
    DiagnosticSettingSpec setting;
    setting.name = fields.required_string("name");
    names.add(setting.name, fields.child("name"));
    const json* properties = fields.find("properties");
    if (properties == nullptr) fail(fields.child("properties"), "required field is missing");
    const Fields property_fields(*properties, fields.child("properties"),
                                 {"storageAccountId", "workspaceId", "eventHubAuthorizationRuleId",
                                  "eventHubName", "serviceBusRuleId", "marketplacePartnerId",
                                  "logAnalyticsDestinationType", "logs", "metrics"});
    for (const auto& [log, log_path] : property_fields.array("logs")) {
      const Fields log_fields(*log, log_path,
                              {"category", "categoryGroup", "enabled", "retentionPolicy"});
      if (log_fields.has("category") == log_fields.has("categoryGroup")) {
        fail(log_path, "a log entry names either a category or a categoryGroup");
      }
      (void)log_fields.string("category");
      (void)log_fields.string("categoryGroup");
      if (!log_fields.has("enabled"))
        fail(log_fields.child("enabled"), "required field is missing");
      bool enabled = false;
      log_fields.read("enabled", enabled);
    }
    for (const auto& [metric, metric_path] : property_fields.array("metrics")) {
      const Fields metric_fields(*metric, metric_path,
                                 {"category", "timeGrain", "enabled", "retentionPolicy"});
      bool enabled = false;
      metric_fields.read("enabled", enabled);
    }
    setting.properties = *properties;
    settings.push_back(std::move(setting));
  }
  return settings;
}

bool is_azure_name(const std::string& text) {
  return matches(text, "[a-zA-Z][a-zA-Z0-9-]{1,22}[a-zA-Z0-9]");
}

void require_location(const std::string& path, const std::string& location) {
  if (!matches(location, "[a-z][a-z0-9]{2,39}")) {
    fail(path, fmt::format("{} is not an Azure location name (expected lower-case letters and "
                           "digits, e.g. westeurope)",
                           json_quoted(location)));
  }
}

void require_resource_group(const std::string& path, const std::string& name) {
  if (!matches(name, R"([-\w\._\(\)]{1,90})") || name.back() == '.') {
    fail(path, fmt::format("{} is not a resource group name", json_quoted(name)));
  }
}

VaultSpec parse_vault(const json& node, const std::string& path, std::uint64_t seed) {
  const Fields fields(node, path,
                      {"name", "resource_group", "location", "sku", "keys", "diagnostic_settings"});
  VaultSpec vault;
  vault.name = fields.required_string("name");
  if (!is_azure_name(vault.name) || vault.name.find("--") != std::string::npos) {
    fail(fields.child("name"),
         fmt::format("{} is not a vault name (3 to 24 letters, digits or -, starting with a "
                     "letter, no --)",
                     json_quoted(vault.name)));
  }
  vault.resource_group = fields.required_string("resource_group");
  require_resource_group(fields.child("resource_group"), vault.resource_group);
  fields.read("location", vault.location);
  require_location(fields.child("location"), vault.location);
  fields.read("sku", vault.sku);
  require_one_of(fields.child("sku"), vault.sku, kVaultSkus, "a vault SKU");
  UniqueNames key_names("key name");
  for (const auto& [key_node, key_path] : fields.array("keys")) {
    vault.keys.push_back(parse_azure_key(*key_node, key_path, "vault/" + vault.name, false, seed));
    key_names.add(vault.keys.back().name, key_path + ".name");
    if (vault.sku == "standard" && vault.keys.back().kty.find("-HSM") != std::string::npos) {
      fail(key_path + ".kty", "a standard vault cannot hold HSM keys; make the vault premium");
    }
  }
  vault.diagnostic_settings = parse_diagnostic_settings(fields);
  return vault;
}

ManagedHsmSpec parse_managed_hsm(const json& node, const std::string& path, std::uint64_t seed) {
  const Fields fields(node, path,
                      {"name", "resource_group", "location", "sku", "provisioning_state",
                       "activation_status", "keys", "diagnostic_settings"});
  ManagedHsmSpec hsm;
  hsm.name = fields.required_string("name");
  if (!is_azure_name(hsm.name)) {
    fail(fields.child("name"), fmt::format("{} is not a managed HSM name (3 to 24 letters, digits "
                                           "or -, starting with a letter)",
                                           json_quoted(hsm.name)));
  }
  hsm.resource_group = fields.required_string("resource_group");
  require_resource_group(fields.child("resource_group"), hsm.resource_group);
  fields.read("location", hsm.location);
  require_location(fields.child("location"), hsm.location);
  fields.read("sku", hsm.sku);
  require_one_of(fields.child("sku"), hsm.sku, kManagedHsmSkus, "a managed HSM SKU");
  fields.read("provisioning_state", hsm.provisioning_state);
  require_one_of(fields.child("provisioning_state"), hsm.provisioning_state, kProvisioningStates,
                 "a managed HSM provisioningState");
  fields.read("activation_status", hsm.activation_status);
  require_one_of(fields.child("activation_status"), hsm.activation_status, kActivationStatuses,
                 "a security domain activationStatus");
  UniqueNames key_names("key name");
  for (const auto& [key_node, key_path] : fields.array("keys")) {
    hsm.keys.push_back(parse_azure_key(*key_node, key_path, "mhsm/" + hsm.name, true, seed));
    key_names.add(hsm.keys.back().name, key_path + ".name");
  }
  hsm.diagnostic_settings = parse_diagnostic_settings(fields);
  return hsm;
}

void require_scope(const std::string& path, const std::string& scope) {
  if (!matches(scope,
               "/subscriptions/[0-9a-fA-F-]{36}(/.*)?|"
               "/providers/Microsoft\\.Management/managementGroups/[^/]+")) {
    fail(path,
         fmt::format("{} is not a policy scope (expected /subscriptions/{{id}}[/resourceGroups"
                     "/{{rg}}[/...]] or /providers/Microsoft.Management/managementGroups/"
                     "{{name}})",
                     json_quoted(scope)));
  }
}

bool is_policy_set_id(const std::string& id) {
  return id.find("/providers/Microsoft.Authorization/policySetDefinitions/") != std::string::npos;
}

void require_policy_definition_id(const std::string& path, const std::string& id) {
  if (!matches(id,
               "(/(subscriptions|providers/Microsoft\\.Management/managementGroups)/[^/]+)?"
               "/providers/Microsoft\\.Authorization/(policyDefinitions|policySetDefinitions)"
               "/[^/]+")) {
    fail(path, fmt::format("{} is not a policy definition id (expected /providers/Microsoft."
                           "Authorization/policyDefinitions/{{name}} or .../policySetDefinitions/"
                           "{{name}})",
                           json_quoted(id)));
  }
}

SubscriptionSpec parse_subscription(const json& node, const std::string& path,
                                    const AzureTenantSpec& tenant, std::uint64_t seed) {
  const Fields fields(node, path,
                      {"subscription_id", "display_name", "management_groups", "vaults",
                       "managed_hsms", "policy_assignments", "policy_states", "policy_exemptions"});
  SubscriptionSpec subscription;
  subscription.subscription_id = fields.required_string("subscription_id");
  require_guid(fields.child("subscription_id"), subscription.subscription_id, "a subscription id");
  subscription.display_name = "subscription-" + subscription.subscription_id.substr(0, 8);
  fields.read("display_name", subscription.display_name);
  subscription.management_groups = fields.strings("management_groups");
  for (const auto& [vault_node, vault_path] : fields.array("vaults")) {
    subscription.vaults.push_back(parse_vault(*vault_node, vault_path, seed));
  }
  for (const auto& [hsm_node, hsm_path] : fields.array("managed_hsms")) {
    subscription.managed_hsms.push_back(parse_managed_hsm(*hsm_node, hsm_path, seed));
  }
  const std::string subscription_scope = "/subscriptions/" + subscription.subscription_id;

  UniqueNames assignment_names("policy assignment name");
  for (const auto& [assignment_node, assignment_path] : fields.array("policy_assignments")) {
    const Fields a(*assignment_node, assignment_path,
                   {"name", "scope", "policy_definition_id", "not_scopes", "enforcement_mode",
                    "display_name"});
    PolicyAssignmentSpec assignment;
    assignment.name = a.required_string("name");
    assignment_names.add(assignment.name, a.child("name"));
    assignment.scope = subscription_scope;
    a.read("scope", assignment.scope);
    require_scope(a.child("scope"), assignment.scope);
    assignment.policy_definition_id = a.required_string("policy_definition_id");
    require_policy_definition_id(a.child("policy_definition_id"), assignment.policy_definition_id);
    if (is_policy_set_id(assignment.policy_definition_id)) {
      const bool known =
          std::any_of(tenant.policy_set_definitions.begin(), tenant.policy_set_definitions.end(),
                      [&](const PolicySetDefinitionSpec& set) {
                        return set.id == assignment.policy_definition_id;
                      });
      if (!known) {
        fail(a.child("policy_definition_id"),
             fmt::format("{} names a policy set definition that azure.policy_set_definitions "
                         "does not describe",
                         json_quoted(assignment.policy_definition_id)));
      }
    }
    assignment.not_scopes = a.strings("not_scopes");
    for (std::size_t i = 0; i < assignment.not_scopes.size(); ++i) {
      require_scope(index_path(a.child("not_scopes"), i), assignment.not_scopes[i]);
    }
    a.read("enforcement_mode", assignment.enforcement_mode);
    require_one_of(a.child("enforcement_mode"), assignment.enforcement_mode, kEnforcementModes,
                   "a policy enforcementMode");
    assignment.display_name = assignment.name;
    a.read("display_name", assignment.display_name);
    subscription.policy_assignments.push_back(std::move(assignment));
  }
  const auto find_assignment = [&](const std::string& name) -> const PolicyAssignmentSpec* {
    for (const auto& assignment : subscription.policy_assignments) {
      if (assignment.name == name) return &assignment;
    }
    return nullptr;
  };
  const auto known_assignments = [&] {
    std::vector<std::string> names;
    for (const auto& assignment : subscription.policy_assignments) names.push_back(assignment.name);
    return names.empty() ? std::string("none") : join(names);
  };

  for (const auto& [state_node, state_path] : fields.array("policy_states")) {
    const Fields s(*state_node, state_path,
                   {"resource_id", "policy_assignment_name", "policy_definition_id",
                    "compliance_state", "timestamp"});
    PolicyStateSpec state;
    state.resource_id = s.required_string("resource_id");
    if (state.resource_id.rfind(subscription_scope + "/", 0) != 0) {
      fail(s.child("resource_id"),
           fmt::format("{} is not a resource of subscription {}", json_quoted(state.resource_id),
                       subscription.subscription_id));
    }
    state.policy_assignment_name = s.required_string("policy_assignment_name");
    const PolicyAssignmentSpec* assignment = find_assignment(state.policy_assignment_name);
    if (assignment == nullptr) {
      fail(s.child("policy_assignment_name"),
           fmt::format("{} is not a policy assignment of this subscription (known: {})",
                       json_quoted(state.policy_assignment_name), known_assignments()));
    }
    if (auto definition = s.string("policy_definition_id")) {
      require_policy_definition_id(s.child("policy_definition_id"), *definition);
      state.policy_definition_id = *definition;
    } else if (is_policy_set_id(assignment->policy_definition_id)) {
      fail(s.child("policy_definition_id"),
           "required when the assignment is of a policy set: name the member definition");
    } else {
      state.policy_definition_id = assignment->policy_definition_id;
    }
    state.compliance_state = s.required_string("compliance_state");
    require_one_of(s.child("compliance_state"), state.compliance_state, kComplianceStates,
                   "a policy compliance state");
    state.timestamp = "2025-01-15T08:30:00Z";
    s.read("timestamp", state.timestamp);
    require_iso8601(s.child("timestamp"), state.timestamp);
    subscription.policy_states.push_back(std::move(state));
  }

  UniqueNames exemption_names("policy exemption name");
  for (const auto& [exemption_node, exemption_path] : fields.array("policy_exemptions")) {
    const Fields e(*exemption_node, exemption_path,
                   {"name", "scope", "policy_assignment_name", "category",
                    "policy_definition_reference_ids", "expires_on"});
    PolicyExemptionSpec exemption;
    exemption.name = e.required_string("name");
    exemption_names.add(exemption.name, e.child("name"));
    exemption.scope = subscription_scope;
    e.read("scope", exemption.scope);
    require_scope(e.child("scope"), exemption.scope);
    exemption.policy_assignment_name = e.required_string("policy_assignment_name");
    if (find_assignment(exemption.policy_assignment_name) == nullptr) {
      fail(e.child("policy_assignment_name"),
           fmt::format("{} is not a policy assignment of this subscription (known: {})",
                       json_quoted(exemption.policy_assignment_name), known_assignments()));
    }
    e.read("category", exemption.category);
    require_one_of(e.child("category"), exemption.category, kExemptionCategories,
                   "an exemption category");
    exemption.policy_definition_reference_ids = e.strings("policy_definition_reference_ids");
    e.read("expires_on", exemption.expires_on);
    if (!exemption.expires_on.empty()) require_iso8601(e.child("expires_on"), exemption.expires_on);
    subscription.policy_exemptions.push_back(std::move(exemption));
  }
  return subscription;
}

AzureTenantSpec parse_azure(const json& node, const std::string& path, std::uint64_t seed) {
  const Fields fields(node, path,
                      {"tenant_id", "client_id", "client_secret", "managed_identity_client_id",
                       "policy_set_definitions", "subscriptions"});
  AzureTenantSpec tenant;
  tenant.tenant_id = derived_uuid(seed, "azure/tenant");
  fields.read("tenant_id", tenant.tenant_id);
  require_guid(fields.child("tenant_id"), tenant.tenant_id, "a tenant id");
  tenant.client_id = derived_uuid(seed, "azure/client");
  fields.read("client_id", tenant.client_id);
  require_guid(fields.child("client_id"), tenant.client_id, "a client (application) id");
  tenant.client_secret = "sbx8Q~" + derived_chars(seed, "azure/client-secret", 34,
                                                  "abcdefghijklmnopqrstuvwxyz"
                                                  "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                                  "0123456789_.-~");
  fields.read("client_secret", tenant.client_secret);
  if (tenant.client_secret.empty()) fail(fields.child("client_secret"), "must not be empty");
  tenant.managed_identity_client_id = derived_uuid(seed, "azure/managed-identity");
  fields.read("managed_identity_client_id", tenant.managed_identity_client_id);
  require_guid(fields.child("managed_identity_client_id"), tenant.managed_identity_client_id,
               "a client id");

  UniqueNames set_ids("policy set definition id");
  for (const auto& [set_node, set_path] : fields.array("policy_set_definitions")) {
    const Fields s(*set_node, set_path, {"id", "display_name", "definitions"});
    PolicySetDefinitionSpec set;
    set.id = s.required_string("id");
    if (!is_policy_set_id(set.id)) {
      fail(s.child("id"), fmt::format("{} is not a policy set definition id (expected .../"
                                      "providers/Microsoft.Authorization/policySetDefinitions/"
                                      "{{name}})",
                                      json_quoted(set.id)));
    }
    require_policy_definition_id(s.child("id"), set.id);
    set_ids.add(set.id, s.child("id"));
    set.display_name = set.id.substr(set.id.rfind('/') + 1);
    s.read("display_name", set.display_name);
    UniqueNames reference_ids("policyDefinitionReferenceId");
    for (const auto& [member_node, member_path] : s.array("definitions")) {
      const Fields m(*member_node, member_path, {"policy_definition_id", "reference_id"});
      std::string definition = m.required_string("policy_definition_id");
      require_policy_definition_id(m.child("policy_definition_id"), definition);
      if (is_policy_set_id(definition)) {
        fail(m.child("policy_definition_id"), "a policy set cannot contain another policy set");
      }
      std::string reference = m.required_string("reference_id");
      reference_ids.add(reference, m.child("reference_id"));
      set.definitions.emplace_back(std::move(definition), std::move(reference));
    }
    if (set.definitions.empty())
      fail(s.child("definitions"), "a policy set needs at least one definition");
    tenant.policy_set_definitions.push_back(std::move(set));
  }

  UniqueNames subscription_ids("subscription id");
  UniqueNames vault_names("vault name");
  UniqueNames hsm_names("managed HSM name");
  for (const auto& [sub_node, sub_path] : fields.array("subscriptions")) {
    SubscriptionSpec subscription = parse_subscription(*sub_node, sub_path, tenant, seed);
    subscription_ids.add(subscription.subscription_id, sub_path + ".subscription_id");
    // Vault and managed HSM names are DNS labels (name.vault.azure.net): unique across Azure.
    for (std::size_t i = 0; i < subscription.vaults.size(); ++i) {
      vault_names.add(subscription.vaults[i].name, index_path(sub_path + ".vaults", i) + ".name");
    }
    for (std::size_t i = 0; i < subscription.managed_hsms.size(); ++i) {
      hsm_names.add(subscription.managed_hsms[i].name,
                    index_path(sub_path + ".managed_hsms", i) + ".name");
    }
    tenant.subscriptions.push_back(std::move(subscription));
  }
  return tenant;
}

// ---- faults and quotas ----

FaultSpec parse_fault(const json& node, const std::string& path) {
  const Fields fields(node, path,
                      {"kind", "provider", "service", "operation", "region", "status", "latency_ms",
                       "count", "probability", "retry_after_seconds"});
  FaultSpec fault;
  fault.kind = fields.required_string("kind");
  require_one_of(fields.child("kind"), fault.kind, kFaultKinds, "a fault kind");
  fields.read("provider", fault.provider);
  require_one_of(fields.child("provider"), fault.provider, kProviders, "a provider");
  fields.read("service", fault.service);
  if (!fault.service.empty()) {
    const std::string provider = provider_of_service(fault.service);
    if (provider.empty()) {
      fail(fields.child("service"),
           fmt::format("{} is not a sandbox service (expected one of {})",
                       json_quoted(fault.service), join(sandbox_service_names())));
    }
    if (!fault.provider.empty() && fault.provider != provider) {
      fail(fields.child("service"),
           fmt::format("{} is an {} service, but provider is {}", json_quoted(fault.service),
                       provider, json_quoted(fault.provider)));
    }
    fault.provider = provider;
  }
  fields.read("operation", fault.operation);
  fields.read("region", fault.region);
  if (fault.provider == "aws" && !fault.region.empty()) {
    require_region(fields.child("region"), fault.region);
  }
  if (fault.kind == "server_error") {
    fault.status = 500;
    fields.read_int("status", fault.status, 500, 599);
  } else if (fields.has("status")) {
    fail(fields.child("status"), "only server_error faults take a status");
  }
  if (fault.kind == "latency") {
    if (!fields.has("latency_ms")) fail(fields.child("latency_ms"), "required field is missing");
    fields.read_int("latency_ms", fault.latency_ms, 1, 600000);
  } else if (fields.has("latency_ms")) {
    fail(fields.child("latency_ms"), "only latency faults take latency_ms");
  }
  fields.read_int("count", fault.count, -1, 1000000000);
  if (fault.count == 0) fail(fields.child("count"), "0 would never fire; use -1 for every request");
  if (auto probability = fields.number("probability")) {
    if (*probability <= 0 || *probability > 1) {
      fail(fields.child("probability"), "must be more than 0 and at most 1");
    }
    fault.probability = *probability;
  }
  fields.read_int("retry_after_seconds", fault.retry_after_seconds, 0, 3600);
  return fault;
}

QuotaSpec parse_quota(const json& node, const std::string& path) {
  const Fields fields(node, path, {"key", "rate_per_second", "burst"});
  QuotaSpec quota;
  quota.key = fields.required_string("key");
  if (!matches(quota.key, "(aws|azure):[a-z0-9]+:[A-Za-z0-9_-]+")) {
    fail(fields.child("key"), fmt::format("{} is not a quota key (expected provider:service:"
                                          "operation, e.g. aws:kms:ListKeys or azure:arm:read)",
                                          json_quoted(quota.key)));
  }
  const std::optional<QuotaSpec> published = published_quota(quota.key);
  if (auto rate = fields.number("rate_per_second")) {
    if (*rate <= 0) fail(fields.child("rate_per_second"), "must be more than 0");
    quota.rate_per_second = *rate;
  } else if (published) {
    quota.rate_per_second = published->rate_per_second;
  } else {
    std::vector<std::string> keys;
    for (const auto& known : published_quotas()) keys.push_back(known.key);
    fail(fields.child("key"),
         fmt::format("{} has no published rate; give rate_per_second, or use one of {}",
                     json_quoted(quota.key), join(keys)));
  }
  if (auto burst = fields.number("burst")) {
    if (*burst < 1) fail(fields.child("burst"), "must be at least 1");
    quota.burst = *burst;
  } else if (published && !fields.has("rate_per_second")) {
    quota.burst = published->burst;
  } else {
    quota.burst = std::max(1.0, quota.rate_per_second);
  }
  return quota;
}

Scenario parse_document(const json& document, const std::string& default_name) {
  const Fields top(document, "",
                   {"name", "description", "seed", "aws", "azure", "faults", "quotas"});
  Scenario scenario;
  scenario.name = default_name;
  top.read("name", scenario.name);
  top.read("description", scenario.description);
  if (const json* seed = top.find("seed")) {
    if (!seed->is_number_unsigned() &&
        !(seed->is_number_integer() && seed->get<std::int64_t>() >= 0)) {
      fail("seed", "expected a whole number, 0 or more, got " + type_name(*seed));
    }
    scenario.seed = seed->get<std::uint64_t>();
  }
  if (const json* aws = top.find("aws")) {
    const Fields aws_fields(*aws, "aws", {"accounts"});
    UniqueNames account_ids("account id");
    UniqueNames access_keys("access key id");
    for (const auto& [account_node, account_path] : aws_fields.array("accounts")) {
      scenario.aws_accounts.push_back(parse_account(*account_node, account_path, scenario.seed));
      account_ids.add(scenario.aws_accounts.back().account_id, account_path + ".account_id");
      access_keys.add(scenario.aws_accounts.back().access_key_id, account_path + ".access_key_id");
    }
  }
  if (const json* azure = top.find("azure")) {
    scenario.azure = parse_azure(*azure, "azure", scenario.seed);
  }
  for (const auto& [fault_node, fault_path] : top.array("faults")) {
    scenario.faults.push_back(parse_fault(*fault_node, fault_path));
  }
  if (const json* quotas = top.find("quotas")) {
    if (quotas->is_string()) {
      if (quotas->get<std::string>() != "published") {
        fail("quotas", fmt::format("{} is not a quota preset (expected \"published\", or an array "
                                   "of quotas)",
                                   quotas->dump()));
      }
      scenario.quotas = published_quotas();
    } else {
      UniqueNames keys("quota key");
      for (const auto& [quota_node, quota_path] : top.array("quotas")) {
        scenario.quotas.push_back(parse_quota(*quota_node, quota_path));
        keys.add(scenario.quotas.back().key, quota_path + ".key");
      }
    }
  }
  if (scenario.aws_accounts.empty() && !scenario.azure) {
    fail("", "the scenario describes nothing: add aws.accounts or azure");
  }
  return scenario;
}

std::string source_stem(const std::string& source_name) {
  std::string stem = source_name.substr(source_name.find_last_of('/') + 1);
  if (const auto dot = stem.rfind('.'); dot != std::string::npos && dot > 0) stem.resize(dot);
  return stem.empty() ? std::string("scenario") : stem;
}

std::pair<std::size_t, std::size_t> line_and_column(const std::string& text, std::size_t offset) {
  std::size_t line = 1;
  std::size_t column = 1;
  for (std::size_t i = 0; i < offset && i < text.size(); ++i) {
    if (text[i] == '\n') {
      ++line;
      column = 1;
    } else {
      ++column;
    }
  }
  return {line, column};
}

// ---- JSON form ----

json key_to_json(const AzureKeySpec& key) {
  json out = {{"name", key.name}, {"kty", key.kty}};
  if (key.kty.rfind("RSA", 0) == 0) {
    out["key_size"] = key.key_size;
  } else {
    out["curve"] = key.curve;
  }
  out["enabled"] = key.enabled;
  out["exportable"] = key.exportable;
  out["hsm_platform"] = key.hsm_platform;
  out["version"] = key.version;
  return out;
}

json settings_to_json(const std::vector<DiagnosticSettingSpec>& settings) {
  json out = json::array();
  for (const auto& setting : settings) {
    out.push_back({{"name", setting.name}, {"properties", setting.properties}});
  }
  return out;
}

}  // namespace

Result<FaultSpec> parse_fault_flag(const std::string& text) {
  const auto error = [&](const std::string& message) {
    Error e;
    e.kind = ErrorKind::kUsage;
    e.message = "--fault " + text + ": " + message;
    return e;
  };
  std::vector<std::string> parts;
  std::size_t start = 0;
  while (start <= text.size()) {
    const std::size_t end = std::min(text.find(':', start), text.size());
    parts.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  if (parts.size() > 4) {
    return error("too many parts (expected KIND[:service[:operation[:region]]])");
  }
  if (parts[0] == "latency") return error("give latency with --latency-ms N");
  json node = {{"kind", parts[0]}};
  const char* names[] = {"kind", "service", "operation", "region"};
  for (std::size_t i = 1; i < parts.size(); ++i) {
    if (!parts[i].empty() && parts[i] != "*") node[names[i]] = parts[i];
  }
  try {
    return parse_fault(node, "");
  } catch (const ScenarioError& e) {
    return error(e.what());
  }
}

Result<Scenario> parse_scenario(const std::string& json_text, const std::string& source_name) {
  const std::string prefix = "scenario " + source_name + ": ";
  const auto error = [&](const std::string& message) {
    Error e;
    e.kind = ErrorKind::kUsage;
    e.message = prefix + message;
    return e;
  };
  json document;
  try {
    document = json::parse(json_text);
  } catch (const json::parse_error& e) {
    const auto [line, column] = line_and_column(json_text, e.byte == 0 ? 0 : e.byte - 1);
    std::string what = e.what();
    // nlohmann's text repeats its own position; keep the part after "syntax error ...: ".
    if (const auto colon = what.rfind(": "); colon != std::string::npos)
      what = what.substr(colon + 2);
    return error(fmt::format("line {}, column {}: not valid JSON: {}", line, column, what));
  }
  try {
    return parse_document(document, source_stem(source_name));
  } catch (const ScenarioError& e) {
    return error(e.what());
  } catch (const json::exception& e) {
    return error(std::string("unreadable value: ") + e.what());
  }
}

const std::string& default_scenario_text() {
  static const std::string text = [] {
    const auto& sources = builtin_scenario_sources();
    const auto it = sources.find("default");
    return it == sources.end() ? std::string() : it->second;
  }();
  return text;
}

Result<Scenario> load_scenario(const std::string& file_or_builtin_name) {
  const std::string name = file_or_builtin_name.empty() ? "default" : file_or_builtin_name;
  std::error_code ignored;
  if (!std::filesystem::exists(name, ignored)) {
    const auto& builtins = builtin_scenario_sources();
    if (const auto it = builtins.find(name); it != builtins.end()) {
      return parse_scenario(it->second, "built-in " + name);
    }
    std::vector<std::string> names;
    for (const auto& [builtin, text] : builtins) names.push_back(builtin);
    Error e;
    e.kind = ErrorKind::kUsage;
    e.message =
        fmt::format("scenario {}: no such file (built-in scenarios: {})", name, join(names));
    return e;
  }
  std::ifstream in(name, std::ios::binary);
  std::ostringstream content;
  content << in.rdbuf();
  if (!in.good() && !in.eof()) {
    Error e;
    e.kind = ErrorKind::kUsage;
    e.message = "scenario " + name + ": cannot read the file";
    return e;
  }
  return parse_scenario(content.str(), name);
}

nlohmann::json scenario_to_json(const Scenario& scenario) {
  json out = json::object();
  out["name"] = scenario.name;
  if (!scenario.description.empty()) out["description"] = scenario.description;
  out["seed"] = scenario.seed;
  if (!scenario.aws_accounts.empty()) {
    json accounts = json::array();
    for (const auto& account : scenario.aws_accounts) {
      json keys = json::array();
      for (const auto& key : account.keys) {
        json k = {{"key_id", key.key_id},          {"region", key.region},
                  {"key_spec", key.key_spec},      {"key_usage", key.key_usage},
                  {"origin", key.origin},          {"key_state", key.key_state},
                  {"key_manager", key.key_manager}};
        if (!key.description.empty()) k["description"] = key.description;
        if (key.multi_region) k["multi_region"] = true;
        if (!key.aliases.empty()) k["aliases"] = key.aliases;
        k["creation_date"] = key.creation_date;
        keys.push_back(std::move(k));
      }
      json trails = json::array();
      for (const auto& trail : account.trails) {
        json t = {{"name", trail.name},
                  {"home_region", trail.home_region},
                  {"multi_region", trail.multi_region},
                  {"organization", trail.organization},
                  {"logging", trail.logging},
                  {"s3_bucket", trail.s3_bucket}};
        if (trail.event_selectors) t["event_selectors"] = *trail.event_selectors;
        if (trail.advanced_event_selectors) {
          t["advanced_event_selectors"] = *trail.advanced_event_selectors;
        }
        trails.push_back(std::move(t));
      }
      json clusters = json::array();
      for (const auto& cluster : account.clusters) {
        json hsms = json::array();
        for (const auto& hsm : cluster.hsms) {
          hsms.push_back({{"hsm_id", hsm.hsm_id},
                          {"state", hsm.state},
                          {"availability_zone", hsm.availability_zone}});
        }
        clusters.push_back({{"cluster_id", cluster.cluster_id},
                            {"region", cluster.region},
                            {"state", cluster.state},
                            {"mode", cluster.mode},
                            {"hsm_type", cluster.hsm_type},
                            {"hsms", std::move(hsms)}});
      }
      json a = {{"account_id", account.account_id},
                {"name", account.name},
                {"access_key_id", account.access_key_id},
                {"secret_access_key", account.secret_access_key},
                {"enabled_regions", account.enabled_regions}};
      if (!account.disabled_regions.empty()) a["disabled_regions"] = account.disabled_regions;
      a["keys"] = std::move(keys);
      a["trails"] = std::move(trails);
      a["clusters"] = std::move(clusters);
      accounts.push_back(std::move(a));
    }
    out["aws"] = {{"accounts", std::move(accounts)}};
  }
  if (scenario.azure) {
    const AzureTenantSpec& tenant = *scenario.azure;
    json sets = json::array();
    for (const auto& set : tenant.policy_set_definitions) {
      json definitions = json::array();
      for (const auto& [definition, reference] : set.definitions) {
        definitions.push_back({{"policy_definition_id", definition}, {"reference_id", reference}});
      }
      sets.push_back({{"id", set.id},
                      {"display_name", set.display_name},
                      {"definitions", std::move(definitions)}});
    }
    json subscriptions = json::array();
    for (const auto& subscription : tenant.subscriptions) {
      json vaults = json::array();
      for (const auto& vault : subscription.vaults) {
        json keys = json::array();
        for (const auto& key : vault.keys) keys.push_back(key_to_json(key));
        vaults.push_back({{"name", vault.name},
                          {"resource_group", vault.resource_group},
                          {"location", vault.location},
                          {"sku", vault.sku},
                          {"keys", std::move(keys)},
                          {"diagnostic_settings", settings_to_json(vault.diagnostic_settings)}});
      }
      json hsms = json::array();
      for (const auto& hsm : subscription.managed_hsms) {
        json keys = json::array();
        for (const auto& key : hsm.keys) keys.push_back(key_to_json(key));
        hsms.push_back({{"name", hsm.name},
                        {"resource_group", hsm.resource_group},
                        {"location", hsm.location},
                        {"sku", hsm.sku},
                        {"provisioning_state", hsm.provisioning_state},
                        {"activation_status", hsm.activation_status},
                        {"keys", std::move(keys)},
                        {"diagnostic_settings", settings_to_json(hsm.diagnostic_settings)}});
      }
      json assignments = json::array();
      for (const auto& assignment : subscription.policy_assignments) {
        json a = {{"name", assignment.name},
                  {"scope", assignment.scope},
                  {"policy_definition_id", assignment.policy_definition_id}};
        if (!assignment.not_scopes.empty()) a["not_scopes"] = assignment.not_scopes;
        a["enforcement_mode"] = assignment.enforcement_mode;
        a["display_name"] = assignment.display_name;
        assignments.push_back(std::move(a));
      }
      json states = json::array();
      for (const auto& state : subscription.policy_states) {
        states.push_back({{"resource_id", state.resource_id},
                          {"policy_assignment_name", state.policy_assignment_name},
                          {"policy_definition_id", state.policy_definition_id},
                          {"compliance_state", state.compliance_state},
                          {"timestamp", state.timestamp}});
      }
      json exemptions = json::array();
      for (const auto& exemption : subscription.policy_exemptions) {
        json e = {{"name", exemption.name},
                  {"scope", exemption.scope},
                  {"policy_assignment_name", exemption.policy_assignment_name},
                  {"category", exemption.category}};
        if (!exemption.policy_definition_reference_ids.empty()) {
          e["policy_definition_reference_ids"] = exemption.policy_definition_reference_ids;
        }
        if (!exemption.expires_on.empty()) e["expires_on"] = exemption.expires_on;
        exemptions.push_back(std::move(e));
      }
      json s = {{"subscription_id", subscription.subscription_id},
                {"display_name", subscription.display_name}};
      if (!subscription.management_groups.empty()) {
        s["management_groups"] = subscription.management_groups;
      }
      s["vaults"] = std::move(vaults);
      s["managed_hsms"] = std::move(hsms);
      s["policy_assignments"] = std::move(assignments);
      s["policy_states"] = std::move(states);
      s["policy_exemptions"] = std::move(exemptions);
      subscriptions.push_back(std::move(s));
    }
    json azure = {{"tenant_id", tenant.tenant_id},
                  {"client_id", tenant.client_id},
                  {"client_secret", tenant.client_secret},
                  {"managed_identity_client_id", tenant.managed_identity_client_id}};
    if (!sets.empty()) azure["policy_set_definitions"] = std::move(sets);
    azure["subscriptions"] = std::move(subscriptions);
    out["azure"] = std::move(azure);
  }
  if (!scenario.faults.empty()) {
    json faults = json::array();
    for (const auto& fault : scenario.faults) {
      json f = {{"kind", fault.kind}};
      if (!fault.provider.empty()) f["provider"] = fault.provider;
      if (!fault.service.empty()) f["service"] = fault.service;
      if (!fault.operation.empty()) f["operation"] = fault.operation;
      if (!fault.region.empty()) f["region"] = fault.region;
      if (fault.kind == "server_error") f["status"] = fault.status;
      if (fault.kind == "latency") f["latency_ms"] = fault.latency_ms;
      if (fault.count != -1) f["count"] = fault.count;
      if (fault.probability != 1.0) f["probability"] = fault.probability;
      if (fault.retry_after_seconds != FaultSpec{}.retry_after_seconds) {
        f["retry_after_seconds"] = fault.retry_after_seconds;
      }
      faults.push_back(std::move(f));
    }
    out["faults"] = std::move(faults);
  }
  if (!scenario.quotas.empty()) {
    json quotas = json::array();
    for (const auto& quota : scenario.quotas) {
      quotas.push_back(
          {{"key", quota.key}, {"rate_per_second", quota.rate_per_second}, {"burst", quota.burst}});
    }
    out["quotas"] = std::move(quotas);
  }
  return out;
}

// ---- generated scenarios ----

namespace {

struct GenerateSpec {
  std::uint64_t accounts = 1;
  std::uint64_t regions = 2;
  std::uint64_t keys = 10;  // per account and region
  std::uint64_t subscriptions = 1;
  std::uint64_t vaults = 2;  // per subscription
  std::uint64_t seed = 1;
};

Result<GenerateSpec> parse_generate_spec(const std::string& text) {
  const auto error = [&](const std::string& message) {
    Error e;
    e.kind = ErrorKind::kUsage;
    e.message = "--generate " + json_quoted(text) + ": " + message +
                " (expected e.g. accounts=2,regions=3,keys=50,subscriptions=2,vaults=5)";
    return e;
  };
  GenerateSpec spec;
  struct Field {
    const char* name;
    std::uint64_t* value;
    std::uint64_t max;
  };
  const std::array<Field, 6> fields = {
      {{"accounts", &spec.accounts, 1000},
       {"regions", &spec.regions, default_enabled_regions().size()},
       {"keys", &spec.keys, 100000},
       {"subscriptions", &spec.subscriptions, 1000},
       {"vaults", &spec.vaults, 10000},
       {"seed", &spec.seed, UINT64_MAX}}};
  std::set<std::string> seen;
  std::size_t start = 0;
  while (start <= text.size()) {
    const std::size_t comma = std::min(text.find(',', start), text.size());
    const std::string item = text.substr(start, comma - start);
    start = comma + 1;
    if (item.empty()) {
      if (comma == text.size() && !seen.empty()) break;
      return error("empty item");
    }
    const std::size_t equals = item.find('=');
    if (equals == std::string::npos) return error(json_quoted(item) + " is not NAME=NUMBER");
    const std::string name = item.substr(0, equals);
    const std::string number = item.substr(equals + 1);
    const auto field =
        std::find_if(fields.begin(), fields.end(), [&](const Field& f) { return name == f.name; });
    if (field == fields.end()) {
      return error(json_quoted(name) +
                   " is not a generator setting (known: accounts, regions, keys, "
                   "subscriptions, vaults, seed)");
    }
    if (!seen.insert(name).second) return error(json_quoted(name) + " is given twice");
    std::uint64_t value = 0;
    const auto [end, code] = std::from_chars(number.data(), number.data() + number.size(), value);
    if (number.empty() || code != std::errc() || end != number.data() + number.size()) {
      return error(fmt::format("{} is not a whole number", json_quoted(number)));
    }
    if (value > field->max)
      return error(fmt::format("{}={} is more than {}", name, value, field->max));
    *field->value = value;
  }
  if (spec.accounts > 0 && spec.regions == 0) return error("regions must be at least 1");
  if (spec.accounts == 0 && spec.subscriptions == 0) {
    return error("accounts and subscriptions are both 0: nothing to generate");
  }
  return spec;
}

json audit_diagnostic_properties(const std::string& workspace) {
  return {{"workspaceId", workspace},
          {"logs", json::array({{{"category", "AuditEvent"}, {"enabled", true}}})},
          {"metrics", json::array({{{"category", "AllMetrics"}, {"enabled", true}}})}};
}

}  // namespace

Result<Scenario> generate_scenario(const std::string& spec_text) {
  const Result<GenerateSpec> parsed = parse_generate_spec(spec_text);
  if (!parsed.ok()) return parsed.error();
  const GenerateSpec& spec = parsed.value();
  Scenario scenario;
  scenario.name = "generated";
  scenario.description = "Generated by `hsmproof sandbox --generate " + spec_text + "`";
  scenario.seed = spec.seed;
  const auto& region_pool = default_enabled_regions();

  for (std::uint64_t a = 0; a < spec.accounts; ++a) {
    AwsAccountSpec account;
    account.account_id = fmt::format("{:012}", 100000000000ULL + a * 1111 + spec.seed % 1000);
    account.name = fmt::format("generated-{}", a + 1);
    account.access_key_id =
        "AKIA" + derived_chars(spec.seed, "access-key/" + account.account_id, 16, kUpperAlnum);
    account.secret_access_key =
        derived_chars(spec.seed, "secret-key/" + account.account_id, 40, kSecretAlphabet);
    account.enabled_regions.assign(region_pool.begin(),
                                   region_pool.begin() + static_cast<std::ptrdiff_t>(spec.regions));
    const std::string& home = account.enabled_regions.front();
    std::size_t key_index = 0;
    for (std::uint64_t r = 0; r < spec.regions; ++r) {
      const std::string& region = account.enabled_regions[r];
      for (std::uint64_t k = 0; k < spec.keys; ++k) {
        KmsKeySpec key;
        key.region = region;
        key.key_id =
            derived_uuid(spec.seed, fmt::format("kms/{}/{}", account.account_id, key_index));
        key.creation_date = 1700000000 + static_cast<std::int64_t>(key_index) * 60;
        // Mostly symmetric data keys, as real accounts hold; every tenth an RSA_4096 signing key
        // (the code signing candidates), every twentieth one a disabled leftover.
        if (k % 10 == 0) {
          key.key_spec = "RSA_4096";
          key.key_usage = "SIGN_VERIFY";
          key.description = "code signing";
          key.aliases.push_back(fmt::format("alias/codesign-{}", k / 10 + 1));
        } else {
          key.key_spec = "SYMMETRIC_DEFAULT";
          key.key_usage = "ENCRYPT_DECRYPT";
          key.description = "data key";
        }
        if (k % 20 == 19) key.key_state = "Disabled";
        account.keys.push_back(std::move(key));
        ++key_index;
      }
    }
    TrailSpec trail;
    trail.name = "organization-audit";
    trail.home_region = home;
    trail.multi_region = true;
    trail.s3_bucket = fmt::format("cloudtrail-{}", account.account_id);
    account.trails.push_back(trail);
    if (spec.regions > 1) {
      // A stopped single-region trail, so reports carry both trail kinds.
      TrailSpec stopped;
      stopped.name = "legacy-" + account.enabled_regions[1];
      stopped.home_region = account.enabled_regions[1];
      stopped.logging = false;
      stopped.s3_bucket = trail.s3_bucket;
      account.trails.push_back(std::move(stopped));
    }
    CloudHsmClusterSpec cluster;
    cluster.region = home;
    cluster.cluster_id =
        "cluster-" + derived_chars(spec.seed, "cloudhsm/" + account.account_id, 11, kBase32Lower);
    CloudHsmSpec hsm;
    hsm.hsm_id = "hsm-" + derived_chars(spec.seed, "hsm/" + account.account_id, 11, kBase32Lower);
    hsm.availability_zone = home + "a";
    cluster.hsms.push_back(std::move(hsm));
    account.clusters.push_back(std::move(cluster));
    scenario.aws_accounts.push_back(std::move(account));
  }

  if (spec.subscriptions > 0) {
    AzureTenantSpec tenant;
    tenant.tenant_id = derived_uuid(spec.seed, "azure/tenant");
    tenant.client_id = derived_uuid(spec.seed, "azure/client");
    tenant.client_secret = "sbx8Q~" + derived_chars(spec.seed, "azure/client-secret", 34,
                                                    kSecretAlphabet.substr(0, 62));
    tenant.managed_identity_client_id = derived_uuid(spec.seed, "azure/managed-identity");
    const std::string hsm_policy =
        "/providers/Microsoft.Authorization/policyDefinitions/587c79fe-dd04-4a5e-9d0b-f89598c7261b";
    const std::string logs_policy =
        "/providers/Microsoft.Authorization/policyDefinitions/cf820ca0-f99e-4f3e-84fb-66e913812d21";
    std::size_t vault_number = 0;
    for (std::uint64_t s = 0; s < spec.subscriptions; ++s) {
      SubscriptionSpec subscription;
      subscription.subscription_id =
          derived_uuid(spec.seed, fmt::format("azure/subscription/{}", s));
      subscription.display_name = fmt::format("generated-{}", s + 1);
      subscription.management_groups = {"generated-root"};
      const std::string scope = "/subscriptions/" + subscription.subscription_id;
      const std::string workspace =
          scope +
          "/resourceGroups/rg-monitor/providers/Microsoft.OperationalInsights/workspaces/law";
      PolicyAssignmentSpec hsm_assignment{
          "kv-hsm-keys", scope, hsm_policy, {}, "Default", "Keys should be backed by an HSM"};
      PolicyAssignmentSpec logs_assignment{
          "kv-resource-logs", scope,
          logs_policy,        {},
          "Default",          "Resource logs in Key Vault should be enabled"};
      subscription.policy_assignments = {hsm_assignment, logs_assignment};
      for (std::uint64_t v = 0; v < spec.vaults; ++v) {
        VaultSpec vault;
        vault.name = fmt::format("kv-gen-{}", ++vault_number);
        vault.resource_group = fmt::format("rg-gen-{}", v % 4 + 1);
        vault.location = v % 3 == 2 ? "northeurope" : "westeurope";
        // Two premium vaults out of three, the rest standard with software keys.
        const bool premium = v % 3 != 1;
        vault.sku = premium ? "premium" : "standard";
        const std::string owner = "vault/" + vault.name;
        for (int k = 0; k < 3; ++k) {
          AzureKeySpec key;
          key.name = fmt::format("key-{}", k + 1);
          key.kty = premium ? "RSA-HSM" : "RSA";
          key.key_size = k == 2 ? 2048 : 3072;
          key.hsm_platform = premium ? "2" : "";
          key.version =
              derived_chars(spec.seed, "key-version/" + owner + "/" + key.name, 32, kHexDigits);
          vault.keys.push_back(std::move(key));
        }
        vault.diagnostic_settings.push_back(
            {"audit", premium ? audit_diagnostic_properties(workspace)
                              : json{{"workspaceId", workspace},
                                     {"metrics", json::array({{{"category", "AllMetrics"},
                                                               {"enabled", true}}})}}});
        const std::string resource_id =
            fmt::format("{}/resourceGroups/{}/providers/Microsoft.KeyVault/vaults/{}", scope,
                        vault.resource_group, vault.name);
        const std::string state = premium ? "Compliant" : "NonCompliant";
        subscription.policy_states.push_back(
            {resource_id, "kv-hsm-keys", hsm_policy, state, "2025-01-15T08:30:00Z"});
        subscription.policy_states.push_back(
            {resource_id, "kv-resource-logs", logs_policy, state, "2025-01-15T08:30:00Z"});
        subscription.vaults.push_back(std::move(vault));
      }
      tenant.subscriptions.push_back(std::move(subscription));
    }
    scenario.azure = std::move(tenant);
  }
  // Round-trip through the parser so a generated file always loads, and its defaults are the
  // parser's.
  const std::string text = scenario_to_json(scenario).dump();
  return parse_scenario(text, "generated");
}

}  // namespace hsmproof::sandbox
