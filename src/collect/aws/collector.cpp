#include "collect/aws/collector.h"

#include <algorithm>
#include <atomic>
#include <exception>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

namespace hsmproof::aws {
namespace {

using nlohmann::json;

constexpr const char* kStsVersion = "2011-06-15";
constexpr const char* kEc2Version = "2016-11-15";
// The largest pages the services accept: fewer round trips on accounts with many keys.
constexpr int kListKeysPageLimit = 1000;
constexpr int kListAliasesPageLimit = 100;

// IAM action names ("kms:ListKeys") are what an operator needs to grant; the signing name is
// the IAM prefix for every service we call (cloudhsm, not cloudhsmv2).
std::string action_name(Service service, const std::string& operation) {
  return std::string(service_info(service).signing_name) + ":" + operation;
}

// The operation is always the IAM action, whatever label the client used, because rules and
// reports name the permission to grant from it.
Error with_context(Error error, Service service, const std::string& operation,
                   const std::string& region, const std::string& resource) {
  error.operation = action_name(service, operation);
  if (error.region.empty()) error.region = region;
  if (error.resource.empty()) error.resource = resource;
  return error;
}

Error malformed(Service service, const std::string& operation, const std::string& region,
                const std::string& message, const std::string& resource = {}) {
  Error error{ErrorKind::kMalformed, message};
  return with_context(std::move(error), service, operation, region, resource);
}

Error internal_error(const std::string& what, const std::exception* cause) {
  std::string message = what;
  if (cause != nullptr) message += ": " + std::string(cause->what());
  return Error{ErrorKind::kInternal, message};
}

// Every API call of a scan goes through here: it counts calls for the progress callback and
// makes sure each failure names its operation, region and resource.
class CallTracker {
 public:
  explicit CallTracker(AwsClient& client, const ProgressCallback* progress = nullptr)
      : client_(client), progress_(progress != nullptr && *progress ? progress : nullptr) {}

  Result<json> call_json(Service service, const std::string& region, const std::string& operation,
                         const json& input, const std::string& resource = {}) {
    started();
    auto answer = client_.call_json(service, region, operation, input);
    finished();
    if (!answer) return with_context(answer.error(), service, operation, region, resource);
    return answer;
  }

  Result<XmlElement> call_query(Service service, const std::string& region,
                                const std::string& operation, const std::string& version) {
    started();
    auto answer = client_.call_query(service, region, operation, version, {});
    finished();
    if (!answer) return with_context(answer.error(), service, operation, region, {});
    return answer;
  }

  [[nodiscard]] AwsClient& client() const { return client_; }

 private:
  void started() { known_.fetch_add(1); }
  void finished() {
    const std::size_t done = done_.fetch_add(1) + 1;
    if (progress_ != nullptr) (*progress_)(done, known_.load());
  }

  AwsClient& client_;
  const ProgressCallback* progress_;
  std::atomic<std::size_t> known_{0};
  std::atomic<std::size_t> done_{0};
};

// Reads members of one JSON object from an answer. AWS omits unset members (and emulators may
// send null), so absent reads as empty; a member of the wrong type makes the answer malformed,
// since guessing would put a default where the service said something else.
class JsonReader {
 public:
  explicit JsonReader(const json& object) : object_(object) {
    if (!object.is_object()) problem_ = "expected a JSON object";
  }

  std::string string(const char* name) {
    const json* value = member(name, json::value_t::string, "a string");
    return value != nullptr ? value->get<std::string>() : std::string();
  }

  std::optional<bool> boolean(const char* name) {
    const json* value = member(name, json::value_t::boolean, "a boolean");
    if (value == nullptr) return std::nullopt;
    return value->get<bool>();
  }

  std::vector<std::string> strings(const char* name) {
    std::vector<std::string> out;
    for (const json& item : array(name)) {
      if (!item.is_string()) {
        fail(std::string(name) + " holds a non-string item");
        return {};
      }
      out.push_back(item.get<std::string>());
    }
    return out;
  }

  const json& array(const char* name) {
    static const json kEmptyArray = json::array();
    const json* value = member(name, json::value_t::array, "an array");
    return value != nullptr ? *value : kEmptyArray;
  }

  // The member when it is an object, nullptr when absent.
  const json* object(const char* name) { return member(name, json::value_t::object, "an object"); }

  [[nodiscard]] bool ok() const { return problem_.empty(); }
  [[nodiscard]] const std::string& problem() const { return problem_; }

 private:
  const json* member(const char* name, json::value_t type, const char* type_name) {
    if (!object_.is_object()) return nullptr;
    auto found = object_.find(name);
    if (found == object_.end() || found->is_null()) return nullptr;
    if (found->type() != type) {
      fail(std::string(name) + " is not " + type_name);
      return nullptr;
    }
    return &*found;
  }
  void fail(const std::string& problem) {
    if (problem_.empty()) problem_ = problem;
  }

  const json& object_;
  std::string problem_;
};

// ---- paging ----

// KMS lists: Marker in, NextMarker and Truncated out. Returns every item of every page; any
// failed page fails the whole list, since a partial list is evidence of nothing.
Result<std::vector<json>> list_marker_pages(CallTracker& calls, Service service,
                                            const std::string& region, const std::string& operation,
                                            const char* items_member, int page_limit) {
  std::vector<json> items;
  std::set<std::string> markers_seen;
  std::string marker;
  for (;;) {
    json input = {{"Limit", page_limit}};
    if (!marker.empty()) input["Marker"] = marker;
    auto page = calls.call_json(service, region, operation, input);
    if (!page) return page.error();
    JsonReader reader(*page);
    for (const json& item : reader.array(items_member)) items.push_back(item);
    const std::optional<bool> truncated = reader.boolean("Truncated");
    std::string next_marker = reader.string("NextMarker");
    if (!reader.ok()) return malformed(service, operation, region, reader.problem());
    // Truncated is authoritative when present; without it a NextMarker alone means more.
    const bool more = truncated.value_or(!next_marker.empty());
    if (!more) break;
    if (next_marker.empty()) {
      return malformed(service, operation, region, "answer is Truncated but has no NextMarker");
    }
    if (!markers_seen.insert(next_marker).second) {
      return malformed(service, operation, region,
                       "answer repeats NextMarker '" + next_marker + "' (paging would not end)");
    }
    marker = std::move(next_marker);
  }
  return items;
}

// Other JSON services: NextToken in and out; a page may be empty and still carry a token.
Result<std::vector<json>> list_token_pages(CallTracker& calls, Service service,
                                           const std::string& region, const std::string& operation,
                                           const char* items_member) {
  std::vector<json> items;
  std::set<std::string> tokens_seen;
  std::string token;
  for (;;) {
    json input = json::object();
    if (!token.empty()) input["NextToken"] = token;
    auto page = calls.call_json(service, region, operation, input);
    if (!page) return page.error();
    JsonReader reader(*page);
    for (const json& item : reader.array(items_member)) items.push_back(item);
    std::string next_token = reader.string("NextToken");
    if (!reader.ok()) return malformed(service, operation, region, reader.problem());
    if (next_token.empty()) break;
    if (!tokens_seen.insert(next_token).second) {
      return malformed(service, operation, region,
                       "answer repeats NextToken (paging would not end)");
    }
    token = std::move(next_token);
  }
  return items;
}

// ---- KMS ----

struct ListedKey {
  std::string key_id;
  std::string arn;
};

Result<std::vector<ListedKey>> list_keys(CallTracker& calls, const std::string& region) {
  auto entries =
      list_marker_pages(calls, Service::kKms, region, "ListKeys", "Keys", kListKeysPageLimit);
  if (!entries) return entries.error();
  std::vector<ListedKey> keys;
  keys.reserve(entries->size());
  for (const json& entry : *entries) {
    JsonReader reader(entry);
    ListedKey key{reader.string("KeyId"), reader.string("KeyArn")};
    if (!reader.ok()) {
      return malformed(Service::kKms, "ListKeys", region, "Keys entry: " + reader.problem());
    }
    keys.push_back(std::move(key));
  }
  return keys;
}

// Alias names per target key id. Aliases without a TargetKeyId are AWS-managed aliases not yet
// bound to a key: they name nothing we list.
Result<std::map<std::string, std::vector<std::string>>> list_aliases(CallTracker& calls,
                                                                     const std::string& region) {
  auto entries = list_marker_pages(calls, Service::kKms, region, "ListAliases", "Aliases",
                                   kListAliasesPageLimit);
  if (!entries) return entries.error();
  std::map<std::string, std::vector<std::string>> by_key;
  for (const json& entry : *entries) {
    JsonReader reader(entry);
    std::string alias_name = reader.string("AliasName");
    std::string target = reader.string("TargetKeyId");
    if (!reader.ok()) {
      return malformed(Service::kKms, "ListAliases", region, "Aliases entry: " + reader.problem());
    }
    if (target.empty() || alias_name.empty()) continue;
    by_key[target].push_back(std::move(alias_name));
  }
  for (auto& [key_id, names] : by_key) std::sort(names.begin(), names.end());
  return by_key;
}

Result<model::KmsKeyMetadata> describe_key(CallTracker& calls, const std::string& region,
                                           const std::string& key_id) {
  auto answer = calls.call_json(Service::kKms, region, "DescribeKey", {{"KeyId", key_id}}, key_id);
  if (!answer) return answer.error();
  JsonReader top(*answer);
  const json* metadata_json = top.object("KeyMetadata");
  if (!top.ok()) return malformed(Service::kKms, "DescribeKey", region, top.problem(), key_id);
  if (metadata_json == nullptr) {
    return malformed(Service::kKms, "DescribeKey", region, "answer has no KeyMetadata", key_id);
  }
  JsonReader reader(*metadata_json);
  model::KmsKeyMetadata metadata;
  metadata.key_id = reader.string("KeyId");
  metadata.arn = reader.string("Arn");
  metadata.key_manager = reader.string("KeyManager");
  metadata.key_state = reader.string("KeyState");
  const std::optional<bool> enabled = reader.boolean("Enabled");
  metadata.origin = reader.string("Origin");
  metadata.key_spec = reader.string("KeySpec");
  if (metadata.key_spec.empty()) metadata.key_spec = reader.string("CustomerMasterKeySpec");
  metadata.key_usage = reader.string("KeyUsage");
  // Keys from before multi-Region keys existed omit the member: they can only be single-Region.
  metadata.multi_region = reader.boolean("MultiRegion").value_or(false);
  metadata.description = reader.string("Description");
  if (!reader.ok()) {
    return malformed(Service::kKms, "DescribeKey", region, "KeyMetadata: " + reader.problem(),
                     key_id);
  }
  if (metadata.key_state.empty()) {
    return malformed(Service::kKms, "DescribeKey", region, "KeyMetadata has no KeyState", key_id);
  }
  // KeyState is the authoritative field; Enabled mirrors it ("Enabled" state) when omitted.
  metadata.enabled = enabled.value_or(metadata.key_state == "Enabled");
  return metadata;
}

Result<std::vector<model::KmsKey>> kms_keys_in_region(CallTracker& calls, TaskPool& pool,
                                                      const std::string& region,
                                                      std::optional<Error>& aliases_error) {
  aliases_error.reset();
  std::optional<Result<std::map<std::string, std::vector<std::string>>>> aliases;
  std::optional<Result<std::vector<ListedKey>>> listed;
  {
    TaskPool::Group group(pool);
    group.spawn([&] { aliases = list_aliases(calls, region); });
    listed = list_keys(calls, region);
    group.wait();
  }
  if (!*listed) return listed->error();
  const std::vector<ListedKey>& entries = listed->value();

  std::vector<model::KmsKey> keys(entries.size());
  parallel_for(pool, entries.size(), [&](std::size_t i) {
    model::KmsKey& key = keys[i];
    key.key_id = entries[i].key_id;
    key.arn = entries[i].arn;
    const std::string& id = !key.key_id.empty() ? key.key_id : key.arn;
    if (id.empty()) {
      key.metadata = malformed(Service::kKms, "ListKeys", region, "Keys entry has no KeyId");
      return;
    }
    key.metadata = describe_key(calls, region, id);
    if (key.metadata) {
      if (key.key_id.empty()) key.key_id = key.metadata->key_id;
      if (key.arn.empty()) key.arn = key.metadata->arn;
    }
  });

  if (*aliases) {
    const auto& by_key = aliases->value();
    for (model::KmsKey& key : keys) {
      auto found = by_key.find(key.key_id);
      if (found != by_key.end()) key.aliases = found->second;
    }
  } else {
    aliases_error = aliases->error();
  }
  std::sort(keys.begin(), keys.end(), [](const model::KmsKey& a, const model::KmsKey& b) {
    return std::tie(a.arn, a.key_id) < std::tie(b.arn, b.key_id);
  });
  return keys;
}

// ---- CloudTrail ----

// Runs a fetch once per key and shares its result (value or error) with every later caller.
// The fetch must not wait on the pool: a thread holding a slot must never pick up a task that
// asks for the same slot.
template <typename T>
class OncePerKey {
 public:
  Result<T> get(const std::string& key, const std::function<Result<T>()>& fetch) {
    std::shared_ptr<Slot> slot;
    {
      std::lock_guard lock(mutex_);
      std::shared_ptr<Slot>& entry = slots_[key];
      if (!entry) entry = std::make_shared<Slot>();
      slot = entry;
    }
    // The first caller fetches while holding the slot; concurrent callers wait for its result.
    std::lock_guard lock(slot->mutex);
    if (!slot->value) slot->value = fetch();
    return *slot->value;
  }

 private:
  struct Slot {
    std::mutex mutex;
    std::optional<Result<T>> value;
  };
  std::mutex mutex_;
  std::map<std::string, std::shared_ptr<Slot>> slots_;
};

model::FieldSelector parse_field_selector(JsonReader& reader) {
  model::FieldSelector selector;
  selector.field = reader.string("Field");
  selector.equals = reader.strings("Equals");
  selector.starts_with = reader.strings("StartsWith");
  selector.ends_with = reader.strings("EndsWith");
  selector.not_equals = reader.strings("NotEquals");
  selector.not_starts_with = reader.strings("NotStartsWith");
  selector.not_ends_with = reader.strings("NotEndsWith");
  return selector;
}

Result<model::EventSelectors> parse_event_selectors(const json& answer, const std::string& region,
                                                    const std::string& arn) {
  const auto bad = [&](const std::string& problem) {
    return malformed(Service::kCloudTrail, "GetEventSelectors", region, problem, arn);
  };
  model::EventSelectors selectors;
  JsonReader top(answer);
  for (const json& item : top.array("EventSelectors")) {
    JsonReader reader(item);
    model::BasicEventSelector selector;
    std::string read_write_type = reader.string("ReadWriteType");
    if (!read_write_type.empty()) selector.read_write_type = std::move(read_write_type);
    // The documented default when the member is omitted.
    selector.include_management_events = reader.boolean("IncludeManagementEvents").value_or(true);
    selector.exclude_management_event_sources = reader.strings("ExcludeManagementEventSources");
    if (!reader.ok()) return bad("EventSelectors entry: " + reader.problem());
    selectors.basic.push_back(std::move(selector));
  }
  for (const json& item : top.array("AdvancedEventSelectors")) {
    JsonReader reader(item);
    model::AdvancedEventSelector selector;
    selector.name = reader.string("Name");
    for (const json& field_item : reader.array("FieldSelectors")) {
      JsonReader field_reader(field_item);
      model::FieldSelector field = parse_field_selector(field_reader);
      if (!field_reader.ok()) return bad("FieldSelectors entry: " + field_reader.problem());
      if (field.field.empty()) return bad("FieldSelectors entry has no Field");
      selector.field_selectors.push_back(std::move(field));
    }
    if (!reader.ok()) return bad("AdvancedEventSelectors entry: " + reader.problem());
    selectors.advanced.push_back(std::move(selector));
  }
  if (!top.ok()) return bad(top.problem());
  return selectors;
}

// GetTrailStatus / GetEventSelectors are asked once per trail ARN per scan, in the trail's home
// region: shadow copies of a multi-region trail show up in every region, and AWS answers
// reliably for them only by ARN in the home region.
class TrailDetails {
 public:
  explicit TrailDetails(CallTracker& calls) : calls_(calls) {}

  Result<model::TrailStatus> status(const std::string& arn, const std::string& home_region) {
    return statuses_.get(arn, [&]() -> Result<model::TrailStatus> {
      auto answer = calls_.call_json(Service::kCloudTrail, home_region, "GetTrailStatus",
                                     {{"Name", arn}}, arn);
      if (!answer) return answer.error();
      JsonReader reader(*answer);
      const std::optional<bool> is_logging = reader.boolean("IsLogging");
      model::TrailStatus status;
      status.latest_delivery_error = reader.string("LatestDeliveryError");
      if (!reader.ok()) {
        return malformed(Service::kCloudTrail, "GetTrailStatus", home_region, reader.problem(),
                         arn);
      }
      if (!is_logging) {
        return malformed(Service::kCloudTrail, "GetTrailStatus", home_region,
                         "answer has no IsLogging", arn);
      }
      status.is_logging = *is_logging;
      return status;
    });
  }

  Result<model::EventSelectors> selectors(const std::string& arn, const std::string& home_region) {
    return selectors_.get(arn, [&]() -> Result<model::EventSelectors> {
      auto answer = calls_.call_json(Service::kCloudTrail, home_region, "GetEventSelectors",
                                     {{"TrailName", arn}}, arn);
      if (!answer) return answer.error();
      return parse_event_selectors(*answer, home_region, arn);
    });
  }

 private:
  CallTracker& calls_;
  OncePerKey<model::TrailStatus> statuses_;
  OncePerKey<model::EventSelectors> selectors_;
};

Result<std::vector<model::Trail>> trails_in_region(CallTracker& calls, TaskPool& pool,
                                                   TrailDetails& details,
                                                   const std::string& region) {
  auto answer = calls.call_json(Service::kCloudTrail, region, "DescribeTrails",
                                {{"includeShadowTrails", true}});
  if (!answer) return answer.error();
  JsonReader top(*answer);
  std::vector<model::Trail> trails;
  for (const json& item : top.array("trailList")) {
    JsonReader reader(item);
    model::Trail trail;
    trail.name = reader.string("Name");
    trail.arn = reader.string("TrailARN");
    trail.home_region = reader.string("HomeRegion");
    trail.is_multi_region = reader.boolean("IsMultiRegionTrail").value_or(false);
    trail.is_organization = reader.boolean("IsOrganizationTrail").value_or(false);
    if (!reader.ok()) {
      return malformed(Service::kCloudTrail, "DescribeTrails", region,
                       "trailList entry: " + reader.problem());
    }
    if (trail.home_region.empty()) trail.home_region = region;
    // A single-region trail covers its home region only, whatever region lists it.
    if (!trail.is_multi_region && trail.home_region != region) continue;
    trails.push_back(std::move(trail));
  }
  if (!top.ok()) return malformed(Service::kCloudTrail, "DescribeTrails", region, top.problem());

  // Two independent calls per trail; each slot of the cache is filled by one call only.
  parallel_for(pool, trails.size() * 2, [&](std::size_t i) {
    model::Trail& trail = trails[i / 2];
    if (trail.arn.empty()) {
      Error error = malformed(Service::kCloudTrail, "DescribeTrails", region,
                              "trailList entry has no TrailARN", trail.name);
      if (i % 2 == 0) {
        trail.status = error;
      } else {
        trail.selectors = error;
      }
      return;
    }
    if (i % 2 == 0) {
      trail.status = details.status(trail.arn, trail.home_region);
    } else {
      trail.selectors = details.selectors(trail.arn, trail.home_region);
    }
  });
  std::sort(trails.begin(), trails.end(), [](const model::Trail& a, const model::Trail& b) {
    return std::tie(a.arn, a.name) < std::tie(b.arn, b.name);
  });
  return trails;
}

// ---- CloudHSM v2 ----

Result<std::vector<model::CloudHsmCluster>> clusters_in_region(CallTracker& calls,
                                                               const std::string& region) {
  auto items =
      list_token_pages(calls, Service::kCloudHsmV2, region, "DescribeClusters", "Clusters");
  if (!items) return items.error();
  std::vector<model::CloudHsmCluster> clusters;
  for (const json& item : *items) {
    JsonReader reader(item);
    model::CloudHsmCluster cluster;
    cluster.cluster_id = reader.string("ClusterId");
    cluster.state = reader.string("State");
    cluster.mode = reader.string("Mode");
    cluster.hsm_type = reader.string("HsmType");
    for (const json& hsm_item : reader.array("Hsms")) {
      JsonReader hsm_reader(hsm_item);
      model::CloudHsm hsm;
      hsm.hsm_id = hsm_reader.string("HsmId");
      hsm.state = hsm_reader.string("State");
      hsm.availability_zone = hsm_reader.string("AvailabilityZone");
      if (!hsm_reader.ok()) {
        return malformed(Service::kCloudHsmV2, "DescribeClusters", region,
                         "Hsms entry: " + hsm_reader.problem(), cluster.cluster_id);
      }
      cluster.hsms.push_back(std::move(hsm));
    }
    if (!reader.ok()) {
      return malformed(Service::kCloudHsmV2, "DescribeClusters", region,
                       "Clusters entry: " + reader.problem(), cluster.cluster_id);
    }
    if (cluster.cluster_id.empty()) {
      return malformed(Service::kCloudHsmV2, "DescribeClusters", region,
                       "Clusters entry has no ClusterId");
    }
    std::sort(
        cluster.hsms.begin(), cluster.hsms.end(),
        [](const model::CloudHsm& a, const model::CloudHsm& b) { return a.hsm_id < b.hsm_id; });
    clusters.push_back(std::move(cluster));
  }
  std::sort(clusters.begin(), clusters.end(),
            [](const model::CloudHsmCluster& a, const model::CloudHsmCluster& b) {
              return a.cluster_id < b.cluster_id;
            });
  return clusters;
}

// ---- account and scope ----

struct CallerIdentity {
  std::string account;
  std::string arn;
};

Result<CallerIdentity> identify_caller(CallTracker& calls, const std::string& region) {
  auto answer = calls.call_query(Service::kSts, region, "GetCallerIdentity", kStsVersion);
  if (!answer) {
    Error error = answer.error();
    if (error.kind == ErrorKind::kHttp && is_credential_rejection_code(error.provider_code)) {
      std::string message = "AWS rejected the credentials from " +
                            calls.client().credential_source() + ": " + error.provider_code;
      if (!error.message.empty()) message += " (" + error.message + ")";
      error.kind = ErrorKind::kCredentials;
      error.message = std::move(message);
    }
    return error;
  }
  const XmlElement* result = answer->find_descendant("GetCallerIdentityResult");
  CallerIdentity identity;
  if (result != nullptr) {
    identity.account = result->text_at("Account");
    identity.arn = result->text_at("Arn");
  }
  if (identity.account.empty()) {
    return malformed(Service::kSts, "GetCallerIdentity", region,
                     "answer has no GetCallerIdentityResult/Account");
  }
  return identity;
}

// Regions the account can use: DescribeRegions without AllRegions lists enabled regions; the
// opt-in status filter keeps emulators and future API changes from adding disabled ones.
Result<std::vector<std::string>> enabled_regions(CallTracker& calls, const std::string& region) {
  auto answer = calls.call_query(Service::kEc2, region, "DescribeRegions", kEc2Version);
  if (!answer) return answer.error();
  const XmlElement* region_info = answer->find_descendant("regionInfo");
  if (region_info == nullptr) {
    return malformed(Service::kEc2, "DescribeRegions", region, "answer has no regionInfo");
  }
  std::vector<std::string> regions;
  for (const XmlElement& item : region_info->children) {
    if (item.name != "item") continue;
    const std::string name = item.text_at("regionName");
    const std::string opt_in = item.text_at("optInStatus");
    if (name.empty()) {
      return malformed(Service::kEc2, "DescribeRegions", region,
                       "regionInfo item has no regionName");
    }
    if (!opt_in.empty() && opt_in != "opt-in-not-required" && opt_in != "opted-in") continue;
    regions.push_back(name);
  }
  return regions;
}

void sort_unique(std::vector<std::string>& values) {
  std::sort(values.begin(), values.end());
  values.erase(std::unique(values.begin(), values.end()), values.end());
}

void collect_region(CallTracker& calls, TaskPool& pool, TrailDetails& trail_details,
                    model::AwsRegionInventory& inventory) {
  const std::string& region = inventory.region;
  TaskPool::Group group(pool);
  group.spawn([&] {
    inventory.kms_keys = kms_keys_in_region(calls, pool, region, inventory.aliases_error);
  });
  group.spawn([&] { inventory.trails = trails_in_region(calls, pool, trail_details, region); });
  inventory.cloudhsm_clusters = clusters_in_region(calls, region);
  group.wait();
}

}  // namespace

Result<model::AwsInventory> collect_inventory(AwsClient& client, TaskPool& pool,
                                              const CollectOptions& options,
                                              const ProgressCallback& progress) {
  try {
    CallTracker calls(client, &progress);
    auto identity = identify_caller(calls, options.default_region);
    if (!identity) return identity.error();

    model::AwsInventory inventory;
    inventory.account = identity->account;
    inventory.caller_arn = identity->arn;

    std::vector<std::string> regions = options.regions;
    if (regions.empty()) {
      auto listed = enabled_regions(calls, options.default_region);
      if (listed) {
        regions = std::move(listed).value();
      } else {
        inventory.scope_errors.push_back(listed.error());
      }
    }
    sort_unique(regions);

    inventory.regions.resize(regions.size());
    for (std::size_t i = 0; i < regions.size(); ++i) {
      inventory.regions[i].account = inventory.account;
      inventory.regions[i].region = regions[i];
    }
    TrailDetails trail_details(calls);
    parallel_for(pool, inventory.regions.size(), [&](std::size_t i) {
      collect_region(calls, pool, trail_details, inventory.regions[i]);
    });
    return inventory;
  } catch (const std::exception& e) {
    return internal_error("AWS inventory collection failed", &e);
  }
}

Result<std::vector<model::KmsKey>> collect_kms_keys(AwsClient& client, TaskPool& pool,
                                                    const std::string& region,
                                                    std::optional<Error>& aliases_error) {
  try {
    CallTracker calls(client);
    return kms_keys_in_region(calls, pool, region, aliases_error);
  } catch (const std::exception& e) {
    return internal_error("KMS collection failed", &e);
  }
}

Result<std::vector<model::Trail>> collect_trails(AwsClient& client, TaskPool& pool,
                                                 const std::string& region) {
  try {
    CallTracker calls(client);
    TrailDetails details(calls);
    return trails_in_region(calls, pool, details, region);
  } catch (const std::exception& e) {
    return internal_error("CloudTrail collection failed", &e);
  }
}

Result<std::vector<model::CloudHsmCluster>> collect_cloudhsm_clusters(AwsClient& client,
                                                                      const std::string& region) {
  try {
    CallTracker calls(client);
    return clusters_in_region(calls, region);
  } catch (const std::exception& e) {
    return internal_error("CloudHSM collection failed", &e);
  }
}

}  // namespace hsmproof::aws
