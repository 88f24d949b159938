// KMS (JSON 1.1, TrentService): ListKeys, DescribeKey, ListAliases, GetPublicKey, Sign, over
// the scenario's keys. Asymmetric keys are real OpenSSL key pairs (SandboxContext generates and
// keeps them), so signatures verify against the public key GetPublicKey returns.

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include <algorithm>
#include <array>
#include <memory>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "sandbox/aws_common.h"

namespace hsmproof::sandbox::aws_impl {

namespace {

using nlohmann::json;

constexpr std::int64_t kListKeysDefaultLimit = 100;
constexpr std::int64_t kListKeysMaxLimit = 1000;
constexpr std::int64_t kListAliasesDefaultLimit = 50;
constexpr std::int64_t kListAliasesMaxLimit = 100;
constexpr std::size_t kMaxMessageBytes = 4096;

// Aliases AWS services create in every account and Region; until a service first uses its key
// they name no key, so ListAliases shows them without TargetKeyId.
constexpr std::array<const char*, 14> kAwsManagedAliases = {
    "alias/aws/acm", "alias/aws/dynamodb", "alias/aws/ebs",          "alias/aws/elasticfilesystem",
    "alias/aws/es",  "alias/aws/glue",     "alias/aws/kinesisvideo", "alias/aws/lambda",
    "alias/aws/rds", "alias/aws/redshift", "alias/aws/s3",           "alias/aws/secretsmanager",
    "alias/aws/ssm", "alias/aws/xray"};

struct KeyView {
  const KmsKeySpec* spec = nullptr;
  std::string arn;
};

std::string key_arn(const AwsAccountSpec& account, const KmsKeySpec& key) {
  return "arn:aws:kms:" + key.region + ":" + account.account_id + ":key/" + key.key_id;
}

std::string alias_arn(const AwsAccountSpec& account, const std::string& region,
                      const std::string& alias_name) {
  return "arn:aws:kms:" + region + ":" + account.account_id + ":" + alias_name;
}

std::vector<KeyView> keys_in_region(const AwsAccountSpec& account, const std::string& region) {
  std::vector<KeyView> keys;
  for (const KmsKeySpec& key : account.keys) {
    if (key.region == region) keys.push_back({&key, key_arn(account, key)});
  }
  std::sort(keys.begin(), keys.end(),
            [](const KeyView& a, const KeyView& b) { return a.spec->key_id < b.spec->key_id; });
  return keys;
}

AwsError not_found(const std::string& message) {
  return AwsError{400, "NotFoundException", message};
}

AwsError key_not_found(const std::string& arn) {
  return not_found("Key '" + arn + "' does not exist");
}

std::string join(const std::vector<std::string>& values) {
  std::string out;
  for (const std::string& value : values) {
    if (!out.empty()) out += ", ";
    out += value;
  }
  return out;
}

AwsError enum_error(const std::string& value, const char* member,
                    const std::vector<std::string>& allowed) {
  return validation_error("1 validation error detected: Value '" + value + "' at '" + member +
                          "' failed to satisfy constraint: Member must satisfy enum value set: [" +
                          join(allowed) + "]");
}

std::int64_t page_limit(const json& input, std::int64_t default_limit, std::int64_t max_limit) {
  const std::optional<std::int64_t> limit = input_integer(input, "Limit");
  if (!limit) return default_limit;
  if (*limit < 1) {
    throw validation_error("1 validation error detected: Value '" + std::to_string(*limit) +
                           "' at 'limit' failed to satisfy constraint: Member must have value "
                           "greater than or equal to 1");
  }
  if (*limit > max_limit) {
    throw validation_error("1 validation error detected: Value '" + std::to_string(*limit) +
                           "' at 'limit' failed to satisfy constraint: Member must have value "
                           "less than or equal to " +
                           std::to_string(max_limit));
  }
  return *limit;
}

// Position after the marker: the first item whose sort key is not before the marker's.
template <typename T, typename KeyOf>
std::size_t page_start(const std::vector<T>& items, const json& input, const char* tag,
                       KeyOf key_of) {
  const std::optional<std::string> marker = input_string(input, "Marker");
  if (!marker) return 0;
  const std::optional<std::string> next_key = read_page_token(tag, *marker);
  if (!next_key) throw AwsError{400, "InvalidMarkerException", "Invalid marker"};
  std::size_t start = 0;
  while (start < items.size() && key_of(items[start]) < *next_key) ++start;
  return start;
}

// ---- key resolution ----

struct ParsedArn {
  std::string region;
  std::string account;
  std::string resource;  // key/<id> or alias/<name>
};

std::optional<ParsedArn> parse_kms_arn(const std::string& text) {
  // arn:<partition>:kms:<region>:<account>:<resource>
  std::vector<std::string> parts;
  std::size_t start = 0;
  for (int i = 0; i < 5; ++i) {
    const std::size_t colon = text.find(':', start);
    if (colon == std::string::npos) return std::nullopt;
    parts.push_back(text.substr(start, colon - start));
    start = colon + 1;
  }
  parts.push_back(text.substr(start));
  if (parts[0] != "arn" || parts[1].empty() || parts[2] != "kms" || parts[3].empty() ||
      parts[4].empty()) {
    return std::nullopt;
  }
  const std::string& resource = parts[5];
  if (resource.rfind("key/", 0) != 0 && resource.rfind("alias/", 0) != 0) return std::nullopt;
  return ParsedArn{parts[3], parts[4], resource};
}

const KmsKeySpec* key_by_alias(const AwsAccountSpec& account, const std::string& region,
                               const std::string& alias_name) {
  for (const KmsKeySpec& key : account.keys) {
    if (key.region != region) continue;
    if (std::find(key.aliases.begin(), key.aliases.end(), alias_name) != key.aliases.end()) {
      return &key;
    }
  }
  return nullptr;
}

const KmsKeySpec* key_by_id(const AwsAccountSpec& account, const std::string& region,
                            const std::string& key_id) {
  for (const KmsKeySpec& key : account.keys) {
    if (key.region == region && key.key_id == key_id) return &key;
  }
  return nullptr;
}

KeyView resolve_key(const AwsCall& call, const std::string& key_id_input, bool allow_alias = true) {
  const AwsAccountSpec& account = *call.caller.account;
  if (key_id_input.empty()) {
    throw validation_error(
        "1 validation error detected: Value at 'keyId' failed to satisfy "
        "constraint: Member must have length greater than or equal to 1");
  }
  if (key_id_input.rfind("arn:", 0) == 0) {
    const std::optional<ParsedArn> arn = parse_kms_arn(key_id_input);
    if (!arn)
      throw AwsError{400, "InvalidArnException",
                     "ARN '" + key_id_input + "' is not a valid KMS key or alias ARN"};
    if (arn->region != call.region) throw not_found("Invalid arn " + arn->region);
    const bool is_alias = arn->resource.rfind("alias/", 0) == 0;
    if (is_alias && !allow_alias) throw key_not_found(key_id_input);
    if (arn->account != account.account_id) {
      const AwsAccountSpec* owner = find_account(call.context.scenario(), arn->account);
      const KmsKeySpec* key = owner == nullptr ? nullptr
                              : is_alias       ? key_by_alias(*owner, arn->region, arn->resource)
                                         : key_by_id(*owner, arn->region, arn->resource.substr(4));
      if (key != nullptr) {
        const std::string action = "kms:" + call.operation;
        throw AwsError{400, "AccessDeniedException",
                       "User: " + call.caller.arn + " is not authorized to perform: " + action +
                           " on resource: " + key_arn(*owner, *key) +
                           " because no resource-based policy allows the " + action + " action"};
      }
      if (is_alias) throw not_found("Alias '" + key_id_input + "' is not found.");
      throw key_not_found(key_id_input);
    }
    if (is_alias) {
      const KmsKeySpec* key = key_by_alias(account, call.region, arn->resource);
      if (key == nullptr) throw not_found("Alias '" + key_id_input + "' is not found.");
      return {key, key_arn(account, *key)};
    }
    const KmsKeySpec* key = key_by_id(account, call.region, arn->resource.substr(4));
    if (key == nullptr) throw key_not_found(key_id_input);
    return {key, key_arn(account, *key)};
  }
  if (key_id_input.rfind("alias/", 0) == 0) {
    if (!allow_alias) throw key_not_found(key_id_input);
    const KmsKeySpec* key = key_by_alias(account, call.region, key_id_input);
    if (key == nullptr) {
      throw not_found("Alias '" + alias_arn(account, call.region, key_id_input) +
                      "' is not found.");
    }
    return {key, key_arn(account, *key)};
  }
  const KmsKeySpec* key = key_by_id(account, call.region, key_id_input);
  if (key == nullptr) {
    throw key_not_found("arn:aws:kms:" + call.region + ":" + account.account_id + ":key/" +
                        key_id_input);
  }
  return {key, key_arn(account, *key)};
}

std::string required_key_id(const AwsCall& call) {
  const std::optional<std::string> key_id = input_string(call.input, "KeyId");
  if (!key_id) {
    throw validation_error(
        "1 validation error detected: Value null at 'keyId' failed to satisfy "
        "constraint: Member must not be null");
  }
  return *key_id;
}

// ---- key specs ----

bool is_rsa(const std::string& spec) { return spec.rfind("RSA_", 0) == 0; }
bool is_ecc(const std::string& spec) { return spec.rfind("ECC_", 0) == 0; }
bool is_symmetric_or_hmac(const std::string& spec) {
  return spec == "SYMMETRIC_DEFAULT" || spec.rfind("HMAC_", 0) == 0;
}

std::vector<std::string> signing_algorithms(const KmsKeySpec& key) {
  if (key.key_usage != "SIGN_VERIFY") return {};
  if (is_rsa(key.key_spec)) {
    return {"RSASSA_PKCS1_V1_5_SHA_256", "RSASSA_PKCS1_V1_5_SHA_384", "RSASSA_PKCS1_V1_5_SHA_512",
            "RSASSA_PSS_SHA_256",        "RSASSA_PSS_SHA_384",        "RSASSA_PSS_SHA_512"};
  }
  if (key.key_spec == "ECC_NIST_P256" || key.key_spec == "ECC_SECG_P256K1")
    return {"ECDSA_SHA_256"};
  if (key.key_spec == "ECC_NIST_P384") return {"ECDSA_SHA_384"};
  if (key.key_spec == "ECC_NIST_P521") return {"ECDSA_SHA_512"};
  if (key.key_spec == "ECC_NIST_EDWARDS25519") return {"ED25519_SHA_512", "ED25519_PH_SHA_512"};
  if (key.key_spec == "SM2") return {"SM2DSA"};
  if (key.key_spec.rfind("ML_DSA_", 0) == 0) return {"ML_DSA_SHAKE_256"};
  return {};
}

std::vector<std::string> encryption_algorithms(const KmsKeySpec& key) {
  if (key.key_usage != "ENCRYPT_DECRYPT") return {};
  if (key.key_spec == "SYMMETRIC_DEFAULT") return {"SYMMETRIC_DEFAULT"};
  if (is_rsa(key.key_spec)) return {"RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256"};
  if (key.key_spec == "SM2") return {"SM2PKE"};
  return {};
}

std::vector<std::string> mac_algorithms(const KmsKeySpec& key) {
  if (key.key_usage != "GENERATE_VERIFY_MAC" || key.key_spec.rfind("HMAC_", 0) != 0) return {};
  return {"HMAC_SHA_" + key.key_spec.substr(5)};
}

std::vector<std::string> key_agreement_algorithms(const KmsKeySpec& key) {
  if (key.key_usage != "KEY_AGREEMENT") return {};
  if (is_ecc(key.key_spec) || key.key_spec == "SM2") return {"ECDH"};
  return {};
}

// The key material family the context generates for a KeySpec, or nullopt when the sandbox has
// no real key pair for it (symmetric, HMAC, SM2, ML-DSA, Ed25519).
struct Material {
  const char* algorithm;
  int bits_or_curve_nid;
};

std::optional<Material> material_of(const std::string& spec) {
  if (spec == "RSA_2048") return Material{"RSA", 2048};
  if (spec == "RSA_3072") return Material{"RSA", 3072};
  if (spec == "RSA_4096") return Material{"RSA", 4096};
  if (spec == "ECC_NIST_P256") return Material{"EC", NID_X9_62_prime256v1};
  if (spec == "ECC_NIST_P384") return Material{"EC", NID_secp384r1};
  if (spec == "ECC_NIST_P521") return Material{"EC", NID_secp521r1};
  if (spec == "ECC_SECG_P256K1") return Material{"EC", NID_secp256k1};
  return std::nullopt;
}

// Replicas of a multi-Region key share its key material, as in KMS.
std::string material_ref(const AwsAccountSpec& account, const KeyView& key) {
  if (key.spec->multi_region)
    return "arn:aws:kms::" + account.account_id + ":key/" + key.spec->key_id;
  return key.arn;
}

struct PkeyDeleter {
  void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyDeleter>;

PkeyPtr load_private_key(AwsCall& call, const KeyView& key, const Material& material) {
  const std::string pem = call.context.private_key_pem(
      material_ref(*call.caller.account, key), material.algorithm, material.bits_or_curve_nid);
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(
      BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())), &BIO_free);
  if (!bio) throw std::runtime_error("BIO_new_mem_buf failed");
  PkeyPtr pkey(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  if (!pkey)
    throw std::runtime_error("the key material of " + key.arn + " is not a PEM private key");
  const bool want_rsa = std::string(material.algorithm) == "RSA";
  if ((EVP_PKEY_base_id(pkey.get()) == EVP_PKEY_RSA) != want_rsa) {
    throw std::runtime_error("the key material of " + key.arn + " does not match its KeySpec");
  }
  return pkey;
}

// GetPublicKey and Sign need an enabled key.
void require_usable_state(const KeyView& key) {
  const std::string& state = key.spec->key_state;
  if (state == "Enabled") return;
  if (state == "Disabled") throw AwsError{400, "DisabledException", key.arn + " is disabled."};
  std::string description = state;
  if (state == "PendingDeletion") description = "pending deletion";
  if (state == "PendingImport") description = "pending import";
  if (state == "PendingReplicaDeletion") description = "pending replica deletion";
  if (state == "Unavailable") description = "unavailable";
  if (state == "Creating") description = "being created";
  if (state == "Updating") description = "being updated";
  throw AwsError{400, "KMSInvalidStateException", key.arn + " is " + description + "."};
}

void add_algorithm_members(json& out, const KmsKeySpec& key) {
  if (auto values = signing_algorithms(key); !values.empty()) out["SigningAlgorithms"] = values;
  if (auto values = encryption_algorithms(key); !values.empty())
    out["EncryptionAlgorithms"] = values;
  if (auto values = mac_algorithms(key); !values.empty()) out["MacAlgorithms"] = values;
  if (auto values = key_agreement_algorithms(key); !values.empty()) {
    out["KeyAgreementAlgorithms"] = values;
  }
}

json key_metadata(const AwsCall& call, const KeyView& key) {
  const AwsAccountSpec& account = *call.caller.account;
  const KmsKeySpec& spec = *key.spec;
  json metadata = {
      {"AWSAccountId", account.account_id},
      {"KeyId", spec.key_id},
      {"Arn", key.arn},
      {"CreationDate", spec.creation_date},
      {"Enabled", spec.key_state == "Enabled"},
      {"Description", spec.description},
      {"KeyUsage", spec.key_usage},
      {"KeyState", spec.key_state},
      {"Origin", spec.origin},
      {"KeyManager", spec.key_manager},
      {"CustomerMasterKeySpec", spec.key_spec},
      {"KeySpec", spec.key_spec},
      {"MultiRegion", spec.multi_region},
  };
  add_algorithm_members(metadata, spec);
  if (spec.key_state == "PendingDeletion" || spec.key_state == "PendingReplicaDeletion") {
    constexpr std::int64_t kWindowDays = 30;
    metadata["PendingDeletionWindowInDays"] = kWindowDays;
    metadata["DeletionDate"] = std::max(spec.creation_date, epoch_now()) + kWindowDays * 86400;
  }
  if (spec.origin == "EXTERNAL") metadata["ExpirationModel"] = "KEY_MATERIAL_DOES_NOT_EXPIRE";
  if (spec.origin == "AWS_CLOUDHSM") {
    metadata["CustomKeyStoreId"] =
        "cks-" + derived_hex("cks:" + account.account_id + spec.region, 17);
    for (const CloudHsmClusterSpec& cluster : account.clusters) {
      if (cluster.region == spec.region) {
        metadata["CloudHsmClusterId"] = cluster.cluster_id;
        break;
      }
    }
  }
  if (spec.multi_region) {
    // The first listed copy is the primary; the others (same key id, other regions) replicas.
    const KmsKeySpec* primary = nullptr;
    json replicas = json::array();
    for (const KmsKeySpec& other : account.keys) {
      if (other.key_id != spec.key_id) continue;
      if (primary == nullptr) {
        primary = &other;
      } else {
        replicas.push_back({{"Arn", key_arn(account, other)}, {"Region", other.region}});
      }
    }
    metadata["MultiRegionConfiguration"] = {
        {"MultiRegionKeyType", primary == &spec ? "PRIMARY" : "REPLICA"},
        {"PrimaryKey", {{"Arn", key_arn(account, *primary)}, {"Region", primary->region}}},
        {"ReplicaKeys", replicas}};
  }
  return metadata;
}

// ---- operations ----

json list_keys(const AwsCall& call) {
  const std::int64_t limit = page_limit(call.input, kListKeysDefaultLimit, kListKeysMaxLimit);
  const std::vector<KeyView> keys = keys_in_region(*call.caller.account, call.region);
  const std::size_t start =
      page_start(keys, call.input, "kms-keys", [](const KeyView& key) { return key.spec->key_id; });
  const std::size_t end = std::min(keys.size(), start + static_cast<std::size_t>(limit));
  json entries = json::array();
  for (std::size_t i = start; i < end; ++i) {
    entries.push_back({{"KeyId", keys[i].spec->key_id}, {"KeyArn", keys[i].arn}});
  }
  json out = {{"Keys", entries}, {"Truncated", end < keys.size()}};
  if (end < keys.size()) out["NextMarker"] = make_page_token("kms-keys", keys[end].spec->key_id);
  return out;
}

json describe_key(const AwsCall& call) {
  const KeyView key = resolve_key(call, required_key_id(call));
  return {{"KeyMetadata", key_metadata(call, key)}};
}

struct AliasEntry {
  std::string name;
  const KmsKeySpec* target = nullptr;
};

json list_aliases(const AwsCall& call) {
  const AwsAccountSpec& account = *call.caller.account;
  const std::int64_t limit = page_limit(call.input, kListAliasesDefaultLimit, kListAliasesMaxLimit);
  std::optional<KeyView> only_key;
  if (const std::optional<std::string> key_id = input_string(call.input, "KeyId")) {
    only_key = resolve_key(call, *key_id, false);
  }
  std::vector<AliasEntry> aliases;
  std::set<std::string> names;
  for (const KmsKeySpec& key : account.keys) {
    if (key.region != call.region) continue;
    if (only_key && only_key->spec != &key) continue;
    for (const std::string& alias : key.aliases) {
      if (names.insert(alias).second) aliases.push_back({alias, &key});
    }
  }
  if (!only_key) {
    for (const char* alias : kAwsManagedAliases) {
      if (names.insert(alias).second) aliases.push_back({alias, nullptr});
    }
  }
  std::sort(aliases.begin(), aliases.end(),
            [](const AliasEntry& a, const AliasEntry& b) { return a.name < b.name; });
  const std::size_t start = page_start(aliases, call.input, "kms-aliases",
                                       [](const AliasEntry& alias) { return alias.name; });
  const std::size_t end = std::min(aliases.size(), start + static_cast<std::size_t>(limit));
  json entries = json::array();
  for (std::size_t i = start; i < end; ++i) {
    const AliasEntry& alias = aliases[i];
    json entry = {{"AliasName", alias.name},
                  {"AliasArn", alias_arn(account, call.region, alias.name)}};
    if (alias.target != nullptr) {
      entry["TargetKeyId"] = alias.target->key_id;
      entry["CreationDate"] = alias.target->creation_date;
      entry["LastUpdatedDate"] = alias.target->creation_date;
    }
    entries.push_back(std::move(entry));
  }
  json out = {{"Aliases", entries}, {"Truncated", end < aliases.size()}};
  if (end < aliases.size()) out["NextMarker"] = make_page_token("kms-aliases", aliases[end].name);
  return out;
}

void check_grant_tokens(const json& input) {
  auto found = input.find("GrantTokens");
  if (found == input.end() || found->is_null()) return;
  if (!found->is_array()) {
    throw AwsError{400, "SerializationException", "GrantTokens must be a list of strings"};
  }
  for (const json& token : *found) {
    if (!token.is_string()) {
      throw AwsError{400, "SerializationException", "GrantTokens must be a list of strings"};
    }
  }
}

std::string public_key_der(const PkeyPtr& pkey) {
  unsigned char* der = nullptr;
  const int length = i2d_PUBKEY(pkey.get(), &der);
  if (length <= 0) throw std::runtime_error("i2d_PUBKEY failed");
  std::string out(reinterpret_cast<const char*>(der), static_cast<std::size_t>(length));
  OPENSSL_free(der);
  return out;
}

json get_public_key(AwsCall& call) {
  check_grant_tokens(call.input);
  const KeyView key = resolve_key(call, required_key_id(call));
  require_usable_state(key);
  const KmsKeySpec& spec = *key.spec;
  if (is_symmetric_or_hmac(spec.key_spec)) {
    throw AwsError{400, "UnsupportedOperationException",
                   key.arn + " key usage is " + spec.key_usage + " and key spec is " +
                       spec.key_spec +
                       ", which has no public key: GetPublicKey needs an asymmetric KMS key."};
  }
  const std::optional<Material> material = material_of(spec.key_spec);
  if (!material) {
    throw AwsError{
        400, "UnsupportedOperationException",
        "The sandbox holds no key material for KeySpec " + spec.key_spec + " (" + key.arn + ")."};
  }
  const PkeyPtr pkey = load_private_key(call, key, *material);
  json out = {{"KeyId", key.arn},
              {"PublicKey", base64_encode(public_key_der(pkey))},
              {"CustomerMasterKeySpec", spec.key_spec},
              {"KeySpec", spec.key_spec},
              {"KeyUsage", spec.key_usage}};
  add_algorithm_members(out, spec);
  return out;
}

struct SigningScheme {
  const char* name;
  const EVP_MD* (*digest)();
  enum class Kind { kPkcs1, kPss, kEcdsa } kind;
};

const std::array<SigningScheme, 9>& signing_schemes() {
  static const std::array<SigningScheme, 9> kSchemes = {{
      {"RSASSA_PSS_SHA_256", &EVP_sha256, SigningScheme::Kind::kPss},
      {"RSASSA_PSS_SHA_384", &EVP_sha384, SigningScheme::Kind::kPss},
      {"RSASSA_PSS_SHA_512", &EVP_sha512, SigningScheme::Kind::kPss},
      {"RSASSA_PKCS1_V1_5_SHA_256", &EVP_sha256, SigningScheme::Kind::kPkcs1},
      {"RSASSA_PKCS1_V1_5_SHA_384", &EVP_sha384, SigningScheme::Kind::kPkcs1},
      {"RSASSA_PKCS1_V1_5_SHA_512", &EVP_sha512, SigningScheme::Kind::kPkcs1},
      {"ECDSA_SHA_256", &EVP_sha256, SigningScheme::Kind::kEcdsa},
      {"ECDSA_SHA_384", &EVP_sha384, SigningScheme::Kind::kEcdsa},
      {"ECDSA_SHA_512", &EVP_sha512, SigningScheme::Kind::kEcdsa},
  }};
  return kSchemes;
}

const std::vector<std::string>& all_signing_algorithm_names() {
  static const std::vector<std::string> kNames = {"RSASSA_PSS_SHA_256",
                                                  "RSASSA_PSS_SHA_384",
                                                  "RSASSA_PSS_SHA_512",
                                                  "RSASSA_PKCS1_V1_5_SHA_256",
                                                  "RSASSA_PKCS1_V1_5_SHA_384",
                                                  "RSASSA_PKCS1_V1_5_SHA_512",
                                                  "ECDSA_SHA_256",
                                                  "ECDSA_SHA_384",
                                                  "ECDSA_SHA_512",
                                                  "SM2DSA",
                                                  "ML_DSA_SHAKE_256",
                                                  "ED25519_SHA_512",
                                                  "ED25519_PH_SHA_512"};
  return kNames;
}

std::string digest_of(const EVP_MD* md, const std::string& message) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int length = 0;
  if (EVP_Digest(message.data(), message.size(), digest.data(), &length, md, nullptr) != 1) {
    throw std::runtime_error("EVP_Digest failed");
  }
  return {reinterpret_cast<const char*>(digest.data()), length};
}

std::string sign_digest(const PkeyPtr& pkey, const SigningScheme& scheme,
                        const std::string& digest) {
  std::unique_ptr<EVP_PKEY_CTX, decltype(&EVP_PKEY_CTX_free)> ctx(
      EVP_PKEY_CTX_new(pkey.get(), nullptr), &EVP_PKEY_CTX_free);
  if (!ctx || EVP_PKEY_sign_init(ctx.get()) != 1)
    throw std::runtime_error("EVP_PKEY_sign_init failed");
  if (scheme.kind == SigningScheme::Kind::kPkcs1 &&
      EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_PKCS1_PADDING) != 1) {
    throw std::runtime_error("setting PKCS#1 v1.5 padding failed");
  }
  if (scheme.kind == SigningScheme::Kind::kPss &&
      EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_PKCS1_PSS_PADDING) != 1) {
    throw std::runtime_error("setting PSS padding failed");
  }
  if (EVP_PKEY_CTX_set_signature_md(ctx.get(), scheme.digest()) != 1) {
    throw std::runtime_error("setting the signature digest failed");
  }
  // KMS's PSS uses a salt as long as the digest (RFC 8017's recommendation).
  if (scheme.kind == SigningScheme::Kind::kPss &&
      EVP_PKEY_CTX_set_rsa_pss_saltlen(ctx.get(), RSA_PSS_SALTLEN_DIGEST) != 1) {
    throw std::runtime_error("setting the PSS salt length failed");
  }
  const auto* input = reinterpret_cast<const unsigned char*>(digest.data());
  std::size_t length = 0;
  if (EVP_PKEY_sign(ctx.get(), nullptr, &length, input, digest.size()) != 1) {
    throw std::runtime_error("EVP_PKEY_sign (size) failed");
  }
  std::string signature(length, '\0');
  if (EVP_PKEY_sign(ctx.get(), reinterpret_cast<unsigned char*>(signature.data()), &length, input,
                    digest.size()) != 1) {
    throw std::runtime_error("EVP_PKEY_sign failed");
  }
  signature.resize(length);
  return signature;
}

json sign(AwsCall& call) {
  check_grant_tokens(call.input);
  const std::string key_id = required_key_id(call);
  const std::optional<std::string> message_text = input_string(call.input, "Message");
  if (!message_text) {
    throw validation_error(
        "1 validation error detected: Value null at 'message' failed to "
        "satisfy constraint: Member must not be null");
  }
  const std::optional<std::string> algorithm = input_string(call.input, "SigningAlgorithm");
  if (!algorithm) {
    throw validation_error(
        "1 validation error detected: Value null at 'signingAlgorithm' failed "
        "to satisfy constraint: Member must not be null");
  }
  const std::vector<std::string>& known = all_signing_algorithm_names();
  if (std::find(known.begin(), known.end(), *algorithm) == known.end()) {
    throw enum_error(*algorithm, "signingAlgorithm", known);
  }
  const std::string message_type = input_string(call.input, "MessageType").value_or("RAW");
  if (message_type != "RAW" && message_type != "DIGEST" && message_type != "EXTERNAL_MU") {
    throw enum_error(message_type, "messageType", {"RAW", "DIGEST", "EXTERNAL_MU"});
  }
  const std::optional<std::string> message = base64_decode(*message_text);
  if (!message) {
    throw AwsError{400, "SerializationException",
                   "Message is not valid base64-encoded binary data"};
  }
  if (message->empty()) {
    throw validation_error(
        "1 validation error detected: Value at 'message' failed to satisfy "
        "constraint: Member must have length greater than or equal to 1");
  }
  if (message->size() > kMaxMessageBytes) {
    throw validation_error(
        "1 validation error detected: Value at 'message' failed to satisfy "
        "constraint: Member must have length less than or equal to 4096");
  }
  const bool dry_run = input_boolean(call.input, "DryRun").value_or(false);

  const KeyView key = resolve_key(call, key_id);
  require_usable_state(key);
  const KmsKeySpec& spec = *key.spec;
  if (spec.key_usage != "SIGN_VERIFY") {
    throw AwsError{400, "InvalidKeyUsageException",
                   key.arn + " key usage is " + spec.key_usage + " which is not valid for Sign."};
  }
  const std::vector<std::string> allowed = signing_algorithms(spec);
  if (std::find(allowed.begin(), allowed.end(), *algorithm) == allowed.end()) {
    throw AwsError{
        400, "InvalidKeyUsageException",
        "Algorithm " + *algorithm + " is incompatible with key spec " + spec.key_spec + "."};
  }
  if (message_type == "EXTERNAL_MU") {
    throw AwsError{400, "InvalidKeyUsageException",
                   "The EXTERNAL_MU message type is only valid for ML-DSA keys."};
  }
  const SigningScheme* scheme = nullptr;
  for (const SigningScheme& candidate : signing_schemes()) {
    if (*algorithm == candidate.name) scheme = &candidate;
  }
  const std::optional<Material> material = material_of(spec.key_spec);
  if (scheme == nullptr || !material) {
    throw AwsError{
        400, "UnsupportedOperationException",
        "The sandbox cannot sign with " + *algorithm + " (key spec " + spec.key_spec + ")."};
  }
  const EVP_MD* md = scheme->digest();
  std::string digest;
  if (message_type == "DIGEST") {
    if (message->size() != static_cast<std::size_t>(EVP_MD_get_size(md))) {
      throw validation_error("Digest is invalid length for algorithm " + *algorithm + ".");
    }
    digest = *message;
  } else {
    digest = digest_of(md, *message);
  }
  if (dry_run) {
    throw AwsError{400, "DryRunOperationException",
                   "The request would have succeeded, but the DryRun option is set."};
  }
  const PkeyPtr pkey = load_private_key(call, key, *material);
  return {{"KeyId", key.arn},
          {"Signature", base64_encode(sign_digest(pkey, *scheme, digest))},
          {"SigningAlgorithm", *algorithm}};
}

}  // namespace

json kms_operation(AwsCall& call) {
  if (call.operation == "ListKeys") return list_keys(call);
  if (call.operation == "DescribeKey") return describe_key(call);
  if (call.operation == "ListAliases") return list_aliases(call);
  if (call.operation == "GetPublicKey") return get_public_key(call);
  if (call.operation == "Sign") return sign(call);
  throw unknown_operation(call);
}

}  // namespace hsmproof::sandbox::aws_impl
