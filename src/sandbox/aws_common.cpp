#include "sandbox/aws_common.h"

#include <openssl/rand.h>

#include <array>
#include <cctype>
#include <ctime>
#include <stdexcept>

#include "collect/aws/sigv4.h"

namespace hsmproof::sandbox::aws_impl {

using nlohmann::json;

void SessionStore::add(Session session) {
  std::lock_guard lock(mutex_);
  std::string key = session.access_key_id;
  by_access_key_[key] = std::move(session);
}

std::optional<Session> SessionStore::find(const std::string& access_key_id) const {
  std::lock_guard lock(mutex_);
  auto found = by_access_key_.find(access_key_id);
  if (found == by_access_key_.end()) return std::nullopt;
  return found->second;
}

std::shared_ptr<SessionStore> sessions_of(SandboxContext& context) {
  // The context belongs to the core server and has no slot for handler state, so the stores
  // live here, keyed by the context's address. Each store is bound to a token the context
  // issued: a new context at a dead one's address does not know that token, so it never
  // inherits the dead one's sessions.
  struct Entry {
    std::string marker;
    std::shared_ptr<SessionStore> store;
  };
  static std::mutex registry_mutex;
  static std::map<const SandboxContext*, Entry> registry;
  std::lock_guard lock(registry_mutex);
  Entry& entry = registry[&context];
  if (!entry.store || !context.token_audience(entry.marker).has_value()) {
    entry.store = std::make_shared<SessionStore>();
    entry.marker = context.issue_token("hsmproof-sandbox:aws-sts-sessions", "aws");
  }
  return entry.store;
}

const AwsAccountSpec* find_account(const Scenario& scenario, const std::string& account_id) {
  for (const AwsAccountSpec& account : scenario.aws_accounts) {
    if (account.account_id == account_id) return &account;
  }
  return nullptr;
}

const AwsAccountSpec* find_account_by_access_key(const Scenario& scenario,
                                                 const std::string& access_key_id) {
  for (const AwsAccountSpec& account : scenario.aws_accounts) {
    if (!account.access_key_id.empty() && account.access_key_id == access_key_id) return &account;
  }
  return nullptr;
}

bool region_enabled(const AwsAccountSpec& account, const std::string& region) {
  for (const std::string& enabled : account.enabled_regions) {
    if (enabled == region) return true;
  }
  return false;
}

std::string account_user_arn(const AwsAccountSpec& account) {
  return "arn:aws:iam::" + account.account_id + ":user/hsmproof-sandbox";
}

std::string account_user_id(const AwsAccountSpec& account) {
  std::string id = "AIDA";
  for (char c : derived_hex("user:" + account.account_id, 17)) {
    id += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  }
  return id;
}

// ---- encodings ----

namespace {
constexpr char kBase64Alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int base64_value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}
}  // namespace

std::string base64_encode(const std::string& bytes) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    const std::uint32_t triple =
        (static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i])) << 16U) |
        (static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i + 1])) << 8U) |
        static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i + 2]));
    out += kBase64Alphabet[(triple >> 18U) & 0x3FU];
    out += kBase64Alphabet[(triple >> 12U) & 0x3FU];
    out += kBase64Alphabet[(triple >> 6U) & 0x3FU];
    out += kBase64Alphabet[triple & 0x3FU];
  }
  const std::size_t rest = bytes.size() - i;
  if (rest > 0) {
    std::uint32_t triple = static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i])) << 16U;
    if (rest == 2) {
      triple |= static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i + 1])) << 8U;
    }
    out += kBase64Alphabet[(triple >> 18U) & 0x3FU];
    out += kBase64Alphabet[(triple >> 12U) & 0x3FU];
    out += rest == 2 ? kBase64Alphabet[(triple >> 6U) & 0x3FU] : '=';
    out += '=';
  }
  return out;
}

std::optional<std::string> base64_decode(const std::string& text) {
  if (text.size() % 4 != 0) return std::nullopt;
  std::string out;
  out.reserve(text.size() / 4 * 3);
  for (std::size_t i = 0; i < text.size(); i += 4) {
    const bool last = i + 4 == text.size();
    std::array<int, 4> values{};
    int padding = 0;
    for (std::size_t j = 0; j < 4; ++j) {
      const char c = text[i + j];
      if (c == '=' && last && j >= 2) {
        values[j] = 0;
        ++padding;
        continue;
      }
      if (padding > 0) return std::nullopt;  // data after padding
      values[j] = base64_value(c);
      if (values[j] < 0) return std::nullopt;
    }
    const std::uint32_t triple = (static_cast<std::uint32_t>(values[0]) << 18U) |
                                 (static_cast<std::uint32_t>(values[1]) << 12U) |
                                 (static_cast<std::uint32_t>(values[2]) << 6U) |
                                 static_cast<std::uint32_t>(values[3]);
    out += static_cast<char>((triple >> 16U) & 0xFFU);
    if (padding < 2) out += static_cast<char>((triple >> 8U) & 0xFFU);
    if (padding < 1) out += static_cast<char>(triple & 0xFFU);
  }
  return out;
}

std::string iso8601(std::int64_t epoch_seconds, bool with_millis) {
  const auto seconds = static_cast<std::time_t>(epoch_seconds);
  std::tm parts{};
  gmtime_r(&seconds, &parts);
  std::array<char, 32> buffer{};
  const std::size_t length =
      std::strftime(buffer.data(), buffer.size(),
                    with_millis ? "%Y-%m-%dT%H:%M:%S.000Z" : "%Y-%m-%dT%H:%M:%SZ", &parts);
  return {buffer.data(), length};
}

std::int64_t epoch_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string derived_hex(const std::string& seed, std::size_t length) {
  std::string out;
  std::string block = seed;
  while (out.size() < length) {
    block = hsmproof::aws::sha256_hex(block);
    out += block;
  }
  return out.substr(0, length);
}

std::string random_text(std::size_t length, const std::string& alphabet) {
  std::string out;
  out.reserve(length);
  std::array<unsigned char, 64> bytes{};
  while (out.size() < length) {
    if (RAND_bytes(bytes.data(), static_cast<int>(bytes.size())) != 1) {
      throw std::runtime_error("OpenSSL RAND_bytes failed");
    }
    for (unsigned char byte : bytes) {
      // Rejection sampling keeps every character equally likely.
      const std::size_t limit = 256 - (256 % alphabet.size());
      if (byte >= limit) continue;
      out += alphabet[byte % alphabet.size()];
      if (out.size() == length) break;
    }
  }
  return out;
}

// ---- JSON input ----

namespace {
AwsError serialization_error(const char* name, const char* expected) {
  return AwsError{
      400, "SerializationException",
      std::string("Unexpected value type in payload: member '") + name + "' must be " + expected};
}
}  // namespace

std::optional<std::string> input_string(const json& input, const char* name) {
  auto found = input.find(name);
  if (found == input.end() || found->is_null()) return std::nullopt;
  if (!found->is_string()) throw serialization_error(name, "a string");
  return found->get<std::string>();
}

std::optional<std::int64_t> input_integer(const json& input, const char* name) {
  auto found = input.find(name);
  if (found == input.end() || found->is_null()) return std::nullopt;
  if (found->is_number_integer() || found->is_number_unsigned()) {
    return found->get<std::int64_t>();
  }
  throw serialization_error(name, "an integer");
}

std::optional<bool> input_boolean(const json& input, const char* name) {
  auto found = input.find(name);
  if (found == input.end() || found->is_null()) return std::nullopt;
  if (!found->is_boolean()) throw serialization_error(name, "a boolean");
  return found->get<bool>();
}

AwsError validation_error(const std::string& message) {
  return AwsError{400, "ValidationException", message};
}

AwsError unknown_operation(const AwsCall& call) {
  if (call.protocol == Protocol::kJson) {
    return AwsError{400, "UnknownOperationException",
                    "The operation " + call.operation + " is not supported by this endpoint."};
  }
  if (call.protocol == Protocol::kEc2) {
    return AwsError{400, "InvalidAction",
                    "The action " + call.operation + " is not valid for this web service."};
  }
  return AwsError{400, "InvalidAction",
                  "Could not find operation " + call.operation + " for version 2011-06-15"};
}

std::string make_page_token(const std::string& tag, const std::string& next_key) {
  return base64_encode("hsmproof:" + tag + ":" + next_key);
}

std::optional<std::string> read_page_token(const std::string& tag, const std::string& token) {
  const std::optional<std::string> decoded = base64_decode(token);
  const std::string prefix = "hsmproof:" + tag + ":";
  if (!decoded || decoded->rfind(prefix, 0) != 0) return std::nullopt;
  return decoded->substr(prefix.size());
}

}  // namespace hsmproof::sandbox::aws_impl
