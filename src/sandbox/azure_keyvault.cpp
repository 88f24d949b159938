// The Key Vault and Managed HSM data planes: the bearer challenge, keys (list, get with the public
// JWK of real key material, versions) and sign. Real vaults live on their own hosts
// ({vault}.vault.azure.net); the sandbox serves each under `/_kv/{vault}/` or `/_mhsm/{hsm}/`, and
// also answers `/keys/{name}[/{version}][/sign]` at the root, where the key identifiers it hands
// out point (see key_kid in azure_common.h).

#include <fmt/format.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include <memory>

#include "sandbox/azure_common.h"

namespace hsmproof::sandbox::azure_impl {

namespace {

constexpr std::size_t kMaxResults = 25;
constexpr const char* kServiceVersion = "1.9.2102.1";

const std::vector<std::string>& data_plane_versions() {
  static const std::vector<std::string> kVersions = {"7.4", "7.5", "7.6", "2025-07-01"};
  return kVersions;
}

std::string resource_of(bool hsm) {
  return hsm ? "https://managedhsm.azure.net" : "https://vault.azure.net";
}

AzureError unauthorized(const SandboxContext& context, bool hsm, const std::string& message) {
  AzureError error{401, "Unauthorized", message};
  error.headers.emplace_back(
      "WWW-Authenticate",
      fmt::format("Bearer authorization=\"{}/{}\", resource=\"{}\"", context.base_url(),
                  tenant_of(context).tenant_id, resource_of(hsm)));
  return error;
}

void check_token(const SandboxRequest& request, const SandboxContext& context, bool hsm) {
  const std::string* header = request.headers.find("Authorization");
  if (header == nullptr || !istarts_with(*header, "Bearer ") || header->size() <= 7) {
    throw unauthorized(context, hsm, "AKV10000: Request is missing a Bearer or PoP token.");
  }
  std::string token = header->substr(7);
  while (!token.empty() && token.front() == ' ') token.erase(token.begin());
  const std::optional<std::string> audience = context.token_audience(token);
  if (!audience) {
    throw unauthorized(context, hsm,
                       fmt::format("AKV10032: Invalid issuer. The token was not issued for tenant "
                                   "'{}'.",
                                   tenant_of(context).tenant_id));
  }
  if (normalize_audience(*audience) != normalize_audience(resource_of(hsm))) {
    throw unauthorized(context, hsm,
                       fmt::format("AKV10022: Invalid audience. Expected {}, found: {}.",
                                   resource_of(hsm), *audience));
  }
}

std::string check_version(const SandboxRequest& request) {
  const std::optional<std::string> version = query_value(request, "api-version");
  if (!version || version->empty()) {
    throw AzureError{400, "BadParameter", "The 'api-version' query parameter is missing."};
  }
  for (const std::string& known : data_plane_versions()) {
    if (*version == known) return known;
  }
  throw AzureError{400, "BadParameter",
                   fmt::format("The specified version ({}) is not recognized. Consider using the "
                               "latest supported version ({}).",
                               *version, data_plane_versions().back())};
}

// ---- key material ----

struct PkeyDeleter {
  void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};
struct PkeyCtxDeleter {
  void operator()(EVP_PKEY_CTX* ctx) const { EVP_PKEY_CTX_free(ctx); }
};
struct BnDeleter {
  void operator()(BIGNUM* bn) const { BN_free(bn); }
};
struct BioDeleter {
  void operator()(BIO* bio) const { BIO_free(bio); }
};
struct EcdsaSigDeleter {
  void operator()(ECDSA_SIG* sig) const { ECDSA_SIG_free(sig); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyDeleter>;
using Bn = std::unique_ptr<BIGNUM, BnDeleter>;

int curve_nid(const std::string& curve) {
  if (curve == "P-256") return NID_X9_62_prime256v1;
  if (curve == "P-384") return NID_secp384r1;
  if (curve == "P-521") return NID_secp521r1;
  if (curve == "P-256K") return NID_secp256k1;
  return NID_undef;
}

Pkey load_key(SandboxContext& context, const Container& container, const AzureKeySpec& key) {
  const std::string reference =
      container_uri(context, container) + "keys/" + key.name + "/" + key_version(container, key);
  const std::string pem = is_ec(key)
                              ? context.private_key_pem(reference, "EC", curve_nid(key.curve))
                              : context.private_key_pem(reference, "RSA", key.key_size);
  std::unique_ptr<BIO, BioDeleter> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  Pkey pkey(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  if (!pkey) throw AzureError{500, "InternalServerError", "The key material could not be loaded."};
  return pkey;
}

std::string bn_bytes(const BIGNUM* bn, int width) {
  const int size = width > 0 ? width : BN_num_bytes(bn);
  std::string out(static_cast<std::size_t>(size), '\0');
  BN_bn2binpad(bn, reinterpret_cast<unsigned char*>(out.data()), size);
  return out;
}

Bn bn_param(const EVP_PKEY* pkey, const char* name) {
  BIGNUM* value = nullptr;
  if (EVP_PKEY_get_bn_param(pkey, name, &value) != 1) {
    throw AzureError{500, "InternalServerError", "The public key could not be read."};
  }
  return Bn(value);
}

int field_bytes(const EVP_PKEY* pkey) { return (EVP_PKEY_get_bits(pkey) + 7) / 8; }

// ---- answers ----

std::vector<std::string> key_operations(const AzureKeySpec& key) {
  if (is_ec(key)) return {"sign", "verify"};
  return {"encrypt", "decrypt", "sign", "verify", "wrapKey", "unwrapKey"};
}

ordered_json attributes_json(const Container& container, const AzureKeySpec& key) {
  const std::int64_t created = key_created(container, key);
  ordered_json attributes{
      {"enabled", key.enabled},
      {"created", created},
      {"updated", created},
      {"recoverableDays", 90},
      {"recoveryLevel", "Recoverable"},
      {"exportable", key.exportable},
  };
  if (!key.hsm_platform.empty()) attributes["hsmPlatform"] = key.hsm_platform;
  return attributes;
}

ordered_json key_bundle(SandboxContext& context, const Container& container,
                        const AzureKeySpec& key) {
  const Pkey pkey = load_key(context, container, key);
  ordered_json jwk{
      {"kid", key_kid(context, key.name, key_version(container, key))},
      {"kty", effective_kty(container, key)},
      {"key_ops", key_operations(key)},
  };
  if (is_ec(key)) {
    const int width = field_bytes(pkey.get());
    jwk["crv"] = key.curve;
    jwk["x"] =
        base64url_encode(bn_bytes(bn_param(pkey.get(), OSSL_PKEY_PARAM_EC_PUB_X).get(), width));
    jwk["y"] =
        base64url_encode(bn_bytes(bn_param(pkey.get(), OSSL_PKEY_PARAM_EC_PUB_Y).get(), width));
  } else {
    jwk["n"] = base64url_encode(bn_bytes(bn_param(pkey.get(), OSSL_PKEY_PARAM_RSA_N).get(), 0));
    jwk["e"] = base64url_encode(bn_bytes(bn_param(pkey.get(), OSSL_PKEY_PARAM_RSA_E).get(), 0));
  }
  return ordered_json{{"key", std::move(jwk)},
                      {"attributes", attributes_json(container, key)},
                      {"tags", ordered_json::object()}};
}

ordered_json key_item(SandboxContext& context, const Container& container, const AzureKeySpec& key,
                      bool with_version) {
  return ordered_json{
      {"kid", key_kid(context, key.name, with_version ? key_version(container, key) : "")},
      {"attributes", attributes_json(container, key)},
      {"tags", ordered_json::object()},
  };
}

AzureError key_not_found(const Container& container, const std::string& name,
                         const std::string& version) {
  return AzureError{
      404, "KeyNotFound",
      fmt::format("A key with (name/id) {}{} was not found in this {}. If you recently deleted "
                  "this key you may be able to recover it using the correct recovery command. For "
                  "help resolving this issue, please see "
                  "https://go.microsoft.com/fwlink/?linkid=2125182",
                  name, version.empty() ? "" : "/" + version,
                  container.is_hsm() ? "managed HSM" : "key vault")};
}

const AzureKeySpec& require_key(const Container& container, const std::string& name,
                                const std::string& version) {
  const AzureKeySpec* key = find_key(container, name);
  if (key == nullptr || (!version.empty() && version != key_version(container, *key))) {
    throw key_not_found(container, name, version);
  }
  return *key;
}

SandboxResponse list_keys(const SandboxRequest& request, SandboxContext& context,
                          const Container& container, const std::string& api_version) {
  std::size_t size = kMaxResults;
  if (const std::optional<std::string> max = query_value(request, "maxresults")) {
    std::size_t parsed = 0;
    bool valid = !max->empty() && max->size() <= 3;
    for (char c : *max) {
      if (c < '0' || c > '9') valid = false;
      if (valid) parsed = parsed * 10 + static_cast<std::size_t>(c - '0');
    }
    if (!valid || parsed < 1 || parsed > kMaxResults) {
      throw AzureError{400, "BadParameter",
                       fmt::format("The value '{}' of the parameter 'maxresults' is out of the "
                                   "range [1, {}].",
                                   *max, kMaxResults)};
    }
    size = parsed;
  }
  std::size_t offset = 0;
  if (const std::optional<std::string> token = query_value(request, "$skiptoken")) {
    offset = read_skip_token(*token)["offset"].get<std::size_t>();
  }
  const std::vector<AzureKeySpec>& keys = container.keys();
  ordered_json value = ordered_json::array();
  for (std::size_t i = offset; i < keys.size() && i < offset + size; ++i) {
    value.push_back(key_item(context, container, keys[i], false));
  }
  ordered_json body{{"value", std::move(value)}, {"nextLink", nullptr}};
  if (offset + size < keys.size()) {
    body["nextLink"] = fmt::format("{}keys?api-version={}&$skiptoken={}&maxresults={}",
                                   container_uri(context, container), url_encode(api_version),
                                   make_skip_token(ordered_json{{"offset", offset + size}}), size);
  }
  return json_response(200, body);
}

struct SignAlgorithm {
  const char* name;
  bool ec;
  bool pss;
  const EVP_MD* (*digest)();
  const char* curve;  // EC only
};

const SignAlgorithm* find_algorithm(const std::string& name) {
  static const SignAlgorithm kAlgorithms[] = {
      {"RS256", false, false, EVP_sha256, ""},     {"RS384", false, false, EVP_sha384, ""},
      {"RS512", false, false, EVP_sha512, ""},     {"PS256", false, true, EVP_sha256, ""},
      {"PS384", false, true, EVP_sha384, ""},      {"PS512", false, true, EVP_sha512, ""},
      {"ES256", true, false, EVP_sha256, "P-256"}, {"ES384", true, false, EVP_sha384, "P-384"},
      {"ES512", true, false, EVP_sha512, "P-521"}, {"ES256K", true, false, EVP_sha256, "P-256K"},
  };
  for (const SignAlgorithm& algorithm : kAlgorithms) {
    if (name == algorithm.name) return &algorithm;
  }
  return nullptr;
}

std::string sign_digest(const EVP_PKEY* pkey, const SignAlgorithm& algorithm,
                        const std::string& digest) {
  std::unique_ptr<EVP_PKEY_CTX, PkeyCtxDeleter> ctx(
      EVP_PKEY_CTX_new(const_cast<EVP_PKEY*>(pkey), nullptr));
  bool ready = ctx && EVP_PKEY_sign_init(ctx.get()) == 1 &&
               EVP_PKEY_CTX_set_signature_md(ctx.get(), algorithm.digest()) == 1;
  if (ready && !algorithm.ec) {
    ready = EVP_PKEY_CTX_set_rsa_padding(
                ctx.get(), algorithm.pss ? RSA_PKCS1_PSS_PADDING : RSA_PKCS1_PADDING) == 1;
    if (ready && algorithm.pss) {
      ready = EVP_PKEY_CTX_set_rsa_pss_saltlen(ctx.get(), RSA_PSS_SALTLEN_DIGEST) == 1 &&
              EVP_PKEY_CTX_set_rsa_mgf1_md(ctx.get(), algorithm.digest()) == 1;
    }
  }
  const auto* input = reinterpret_cast<const unsigned char*>(digest.data());
  std::size_t length = 0;
  if (!ready || EVP_PKEY_sign(ctx.get(), nullptr, &length, input, digest.size()) != 1) {
    throw AzureError{500, "InternalServerError", "The signature could not be computed."};
  }
  std::string signature(length, '\0');
  if (EVP_PKEY_sign(ctx.get(), reinterpret_cast<unsigned char*>(signature.data()), &length, input,
                    digest.size()) != 1) {
    throw AzureError{500, "InternalServerError", "The signature could not be computed."};
  }
  signature.resize(length);
  if (!algorithm.ec) return signature;
  // Key Vault returns ECDSA signatures as the raw r||s of JWS, not DER.
  const auto* der = reinterpret_cast<const unsigned char*>(signature.data());
  std::unique_ptr<ECDSA_SIG, EcdsaSigDeleter> parsed(
      d2i_ECDSA_SIG(nullptr, &der, static_cast<long>(signature.size())));
  if (!parsed) throw AzureError{500, "InternalServerError", "The signature could not be encoded."};
  const int width = field_bytes(pkey);
  return bn_bytes(ECDSA_SIG_get0_r(parsed.get()), width) +
         bn_bytes(ECDSA_SIG_get0_s(parsed.get()), width);
}

SandboxResponse sign(const SandboxRequest& request, SandboxContext& context,
                     const Container& container, const AzureKeySpec& key) {
  const ordered_json body = ordered_json::parse(request.body, nullptr, false);
  if (!body.is_object()) {
    throw AzureError{400, "BadParameter", "The request body is not a valid JSON object."};
  }
  if (!body.contains("alg") || !body["alg"].is_string()) {
    throw AzureError{400, "BadParameter", "Property 'alg' is required."};
  }
  if (!body.contains("value") || !body["value"].is_string()) {
    throw AzureError{400, "BadParameter", "Property 'value' is required."};
  }
  const std::string alg = body["alg"].get<std::string>();
  const SignAlgorithm* algorithm = find_algorithm(alg);
  if (algorithm == nullptr) {
    throw AzureError{400, "BadParameter", fmt::format("Invalid algorithm: '{}'.", alg)};
  }
  if (algorithm->ec != is_ec(key) || (algorithm->ec && key.curve != algorithm->curve)) {
    throw AzureError{400, "BadParameter",
                     fmt::format("Algorithm '{}' is not supported by key type '{}'{}.", alg,
                                 effective_kty(container, key),
                                 is_ec(key) ? " with curve '" + key.curve + "'" : "")};
  }
  const std::optional<std::string> digest = base64url_decode(body["value"].get<std::string>());
  if (!digest) throw AzureError{400, "BadParameter", "Property 'value' is not valid base64url."};
  const auto expected = static_cast<std::size_t>(EVP_MD_get_size(algorithm->digest()));
  if (digest->size() != expected) {
    throw AzureError{400, "BadParameter",
                     fmt::format("Invalid digest length for algorithm '{}': expected {} bytes, got "
                                 "{}.",
                                 alg, expected, digest->size())};
  }
  if (!key.enabled) {
    throw AzureError{403, "Forbidden", "Operation sign is not allowed on a disabled key."};
  }
  const Pkey pkey = load_key(context, container, key);
  return json_response(
      200, ordered_json{{"kid", key_kid(context, key.name, key_version(container, key))},
                        {"value", base64url_encode(sign_digest(pkey.get(), *algorithm, *digest))}});
}

AzureError forbidden(const Container& container, const SandboxContext& context,
                     const std::string& action) {
  AzureError error{
      403, "Forbidden",
      fmt::format("Caller is not authorized to perform action on resource.\r\nIf role assignments, "
                  "deny assignments or role definitions were changed recently, please observe "
                  "propagation time.\r\nCaller: appid={};\r\nAction: '{}'\r\nResource: '{}'",
                  tenant_of(context).client_id, action, to_lower(container.resource_id()))};
  error.inner_code = "ForbiddenByRbac";
  return error;
}

// `rest` is the path below the vault: keys[/{name}[/{version}|/versions][/sign]].
SandboxResponse key_vault(const SandboxRequest& request, SandboxContext& context,
                          const Container& container, const std::vector<std::string>& rest) {
  check_token(request, context, container.is_hsm());
  const std::string api_version = check_version(request);
  const std::string data_action =
      container.is_hsm() ? "Microsoft.KeyVault/managedHsm/keys" : "Microsoft.KeyVault/vaults/keys";
  if (rest.empty() || rest[0] != "keys") {
    throw forbidden(container, context, data_action + "/read/action");
  }
  if (request.method == "GET") {
    if (rest.size() == 1) return list_keys(request, context, container, api_version);
    if (rest.size() == 3 && rest[2] == "versions") {
      const AzureKeySpec& key = require_key(container, rest[1], "");
      return json_response(
          200,
          ordered_json{{"value", ordered_json::array({key_item(context, container, key, true)})},
                       {"nextLink", nullptr}});
    }
    if (rest.size() <= 3) {
      const AzureKeySpec& key = require_key(container, rest[1], rest.size() == 3 ? rest[2] : "");
      return json_response(200, key_bundle(context, container, key));
    }
  }
  if (request.method == "POST" && (rest.size() == 3 || rest.size() == 4) && rest.back() == "sign") {
    const AzureKeySpec& key = require_key(container, rest[1], rest.size() == 4 ? rest[2] : "");
    return sign(request, context, container, key);
  }
  if (request.method == "GET") throw key_not_found(container, rest.size() > 1 ? rest[1] : "", "");
  throw forbidden(container, context, data_action + "/write/action");
}

SandboxResponse key_vault_error_response(const AzureError& error) {
  ordered_json inner{{"code", error.code}, {"message", error.message}};
  if (!error.inner_code.empty()) inner["innererror"] = {{"code", error.inner_code}};
  SandboxResponse response = json_response(error.status, ordered_json{{"error", std::move(inner)}});
  for (const auto& [name, value] : error.headers) response.headers.set(name, value);
  return response;
}

void add_key_vault_headers(SandboxResponse& response, const SandboxRequest& request,
                           SandboxContext& context, const std::string& region) {
  response.headers.set("x-ms-request-id", context.new_request_id());
  response.headers.set("x-ms-keyvault-service-version", kServiceVersion);
  if (!region.empty()) response.headers.set("x-ms-keyvault-region", region);
  if (const std::string* client_id = request.headers.find("x-ms-client-request-id")) {
    response.headers.set("x-ms-client-request-id", *client_id);
  }
}

// A root `/keys/{name}[/{version}]...` path names no vault: the key is found by name and version
// across every vault and managed HSM.
std::optional<Container> container_of_root_key(const AzureTenantSpec& tenant,
                                               const std::vector<std::string>& rest) {
  if (rest.size() < 2) return std::nullopt;
  const std::string& name = rest[1];
  const std::string version =
      rest.size() >= 3 && rest[2] != "sign" && rest[2] != "versions" ? rest[2] : "";
  std::vector<Container> matches;
  for (const Container& container : all_containers(tenant)) {
    const AzureKeySpec* key = find_key(container, name);
    if (key != nullptr && (version.empty() || key_version(container, *key) == version)) {
      matches.push_back(container);
    }
  }
  if (matches.size() > 1) {
    throw AzureError{
        400, "BadParameter",
        fmt::format("Key '{}' exists in several vaults of this sandbox; address it through its "
                    "vault (/_kv/{{vault}}/keys/...) or with its version.",
                    name)};
  }
  if (matches.empty()) return std::nullopt;
  return matches.front();
}

}  // namespace

std::optional<SandboxResponse> handle_key_vault(const SandboxRequest& request,
                                                SandboxContext& context) {
  const std::vector<std::string> segments = split_path(request.path);
  if (segments.empty() ||
      (segments[0] != "_kv" && segments[0] != "_mhsm" && segments[0] != "keys")) {
    return std::nullopt;
  }
  const AzureTenantSpec& tenant = tenant_of(context);
  SandboxResponse response;
  std::string region;
  try {
    if (segments[0] == "keys") {
      const std::optional<Container> container = container_of_root_key(tenant, segments);
      if (!container) {
        check_token(request, context, false);
        check_version(request);
        throw AzureError{404, "KeyNotFound",
                         fmt::format("A key with (name/id) {} was not found in this key vault.",
                                     segments.size() > 1 ? segments[1] : "")};
      }
      region = container->location();
      response = key_vault(request, context, *container, segments);
    } else {
      const bool hsm = segments[0] == "_mhsm";
      const std::string name = segments.size() > 1 ? segments[1] : "";
      const std::optional<Container> container =
          hsm ? find_managed_hsm(tenant, name) : find_vault(tenant, name);
      if (!container) {
        // A real client would not even resolve {name}.vault.azure.net.
        throw AzureError{404, hsm ? "ManagedHsmNotFound" : "VaultNotFound",
                         fmt::format("There is no {} named '{}' in this sandbox.",
                                     hsm ? "managed HSM" : "vault", name)};
      }
      region = container->location();
      response = key_vault(request, context, *container,
                           std::vector<std::string>(segments.begin() + 2, segments.end()));
    }
  } catch (const AzureError& error) {
    response = key_vault_error_response(error);
  }
  add_key_vault_headers(response, request, context, region);
  return response;
}

SandboxResponse key_vault_error_answer(const AzureError& error, const SandboxRequest& request,
                                       SandboxContext& context) {
  SandboxResponse response = key_vault_error_response(error);
  add_key_vault_headers(response, request, context, "");
  return response;
}

}  // namespace hsmproof::sandbox::azure_impl
