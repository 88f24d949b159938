#include "collect/aws/aws_client.h"

#include <expat.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <climits>
#include <optional>
#include <string_view>

#include "collect/aws/sigv4.h"

namespace hsmproof::aws {

namespace {

// AWS answers nest a handful of levels; anything deeper is hostile or broken.
constexpr std::size_t kMaxXmlDepth = 256;
constexpr std::size_t kMaxExcerpt = 200;
constexpr std::size_t kMaxMessage = 1000;

bool is_blank(const std::string& text) {
  return std::all_of(text.begin(), text.end(),
                     [](unsigned char c) { return std::isspace(c) != 0; });
}

std::string trim(const std::string& text) {
  const auto begin = text.find_first_not_of(" \t\r\n");
  if (begin == std::string::npos) return {};
  const auto end = text.find_last_not_of(" \t\r\n");
  return text.substr(begin, end - begin + 1);
}

struct XmlBuilder {
  XML_Parser parser = nullptr;
  std::vector<XmlElement> open;  // the path from the root to the element being read
  std::optional<XmlElement> root;
  std::string refusal;  // why we stopped the parser ourselves
};

void refuse(XmlBuilder& builder, std::string why) {
  if (builder.refusal.empty()) builder.refusal = std::move(why);
  XML_StopParser(builder.parser, XML_FALSE);
}

void XMLCALL on_element_start(void* user, const XML_Char* name, const XML_Char** /*attributes*/) {
  auto& builder = *static_cast<XmlBuilder*>(user);
  if (builder.open.size() >= kMaxXmlDepth) {
    refuse(builder, "elements nested deeper than " + std::to_string(kMaxXmlDepth) + " levels");
    return;
  }
  XmlElement element;
  const std::string_view qualified(name);
  const auto colon = qualified.rfind(':');
  element.name =
      std::string(colon == std::string_view::npos ? qualified : qualified.substr(colon + 1));
  builder.open.push_back(std::move(element));
}

void XMLCALL on_element_end(void* user, const XML_Char* /*name*/) {
  auto& builder = *static_cast<XmlBuilder*>(user);
  if (builder.open.empty()) return;
  XmlElement done = std::move(builder.open.back());
  builder.open.pop_back();
  // Indentation between child elements is layout, not content.
  if (!done.children.empty() && is_blank(done.text)) done.text.clear();
  if (builder.open.empty()) {
    builder.root = std::move(done);
  } else {
    builder.open.back().children.push_back(std::move(done));
  }
}

void XMLCALL on_character_data(void* user, const XML_Char* data, int length) {
  auto& builder = *static_cast<XmlBuilder*>(user);
  if (!builder.open.empty() && length > 0) {
    builder.open.back().text.append(data, static_cast<std::size_t>(length));
  }
}

// AWS never sends a DTD; refusing one closes the door on entity tricks.
void XMLCALL on_doctype(void* user, const XML_Char* /*name*/, const XML_Char* /*system_id*/,
                        const XML_Char* /*public_id*/, int /*has_internal_subset*/) {
  refuse(*static_cast<XmlBuilder*>(user), "document type declarations are not accepted");
}

const XmlElement* find_path(const XmlElement& from, const std::vector<std::string>& segments,
                            std::size_t index) {
  if (index == segments.size()) return &from;
  for (const XmlElement& child : from.children) {
    if (child.name != segments[index]) continue;
    if (const XmlElement* found = find_path(child, segments, index + 1)) return found;
  }
  return nullptr;
}

// For messages: printable ASCII only, bounded, one line.
std::string printable_excerpt(const std::string& text, std::size_t limit) {
  std::string out;
  bool pending_space = false;
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte >= 0x21 && byte < 0x7f) {
      if (pending_space && !out.empty()) out += ' ';
      pending_space = false;
      if (out.size() >= limit) break;
      out += c;
    } else {
      pending_space = true;
    }
  }
  if (out.size() > limit) out.resize(limit);
  return out;
}

// Server-supplied messages may carry line breaks or control bytes; keep UTF-8 text as is.
std::string one_line(const std::string& text) {
  std::string out;
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    out += (byte < 0x20 || byte == 0x7f) ? ' ' : c;
    if (out.size() >= kMaxMessage) break;
  }
  return trim(out);
}

// "aws.protocoltests#FooError:http://internal.amazon.com/..." -> "FooError".
std::string normalize_error_code(std::string code) {
  code = code.substr(0, code.find(':'));
  const auto hash = code.rfind('#');
  if (hash != std::string::npos) code.erase(0, hash + 1);
  return trim(code);
}

std::string json_string_member(const nlohmann::json& object, const char* name) {
  const auto it = object.find(name);
  return (it != object.end() && it->is_string()) ? it->get<std::string>() : std::string();
}

std::string operation_label(Service service, const std::string& operation) {
  return std::string(service_info(service).endpoint_prefix) + ":" + operation;
}

bool is_unreserved(unsigned char c) {
  return std::isalnum(c) != 0 || c == '-' || c == '_' || c == '.' || c == '~';
}

// RFC 3986: everything but unreserved characters is percent-encoded (space as %20, not '+').
std::string form_encode(const std::string& text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (is_unreserved(byte)) {
      out += c;
    } else {
      out += '%';
      out += kHex[byte >> 4U];
      out += kHex[byte & 0x0FU];
    }
  }
  return out;
}

void replace_all(std::string& text, const std::string& secret, const std::string& with) {
  if (secret.empty()) return;
  for (auto at = text.find(secret); at != std::string::npos;
       at = text.find(secret, at + with.size())) {
    text.replace(at, secret.size(), with);
  }
}

// A misbehaving or echoing server could send our own secrets back in an error body.
void redact_secrets(Error& error, const Credentials& credentials,
                    const http::Request& signed_request) {
  std::vector<std::string> secrets = {credentials.secret_access_key, credentials.session_token,
                                      signed_request.headers.get("Authorization")};
  const std::string authorization = signed_request.headers.get("Authorization");
  if (const auto at = authorization.find("Signature="); at != std::string::npos) {
    secrets.push_back(authorization.substr(at + 10));
  }
  for (std::string* field :
       {&error.message, &error.provider_code, &error.request_id, &error.resource}) {
    for (const std::string& secret : secrets) replace_all(*field, secret, "[redacted]");
  }
}

Error client_error(ErrorKind kind, const std::string& operation, const std::string& region,
                   std::string message) {
  Error error;
  error.kind = kind;
  error.operation = operation;
  error.region = region;
  error.message = std::move(message);
  return error;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// XML

const XmlElement* XmlElement::child(const std::string& child_name) const {
  for (const XmlElement& element : children) {
    if (element.name == child_name) return &element;
  }
  return nullptr;
}

std::string XmlElement::text_at(const std::string& path) const {
  std::vector<std::string> segments;
  std::size_t start = 0;
  while (start <= path.size()) {
    const auto slash = path.find('/', start);
    const std::string segment =
        path.substr(start, slash == std::string::npos ? std::string::npos : slash - start);
    if (!segment.empty()) segments.push_back(segment);
    if (slash == std::string::npos) break;
    start = slash + 1;
  }
  if (segments.empty()) return {};
  const XmlElement* found = find_path(*this, segments, 0);
  return found == nullptr ? std::string() : found->text;
}

const XmlElement* XmlElement::find_descendant(const std::string& descendant_name) const {
  for (const XmlElement& element : children) {
    if (element.name == descendant_name) return &element;
    if (const XmlElement* found = element.find_descendant(descendant_name)) return found;
  }
  return nullptr;
}

Result<XmlElement> parse_xml(const std::string& text) {
  Error error;
  error.kind = ErrorKind::kMalformed;
  if (text.size() > static_cast<std::size_t>(INT_MAX)) {
    error.message = "XML document too large";
    return error;
  }
  XmlBuilder builder;
  builder.parser = XML_ParserCreate(nullptr);
  if (builder.parser == nullptr) {
    error.kind = ErrorKind::kInternal;
    error.message = "XML parser could not be created";
    return error;
  }
  struct ParserFree {
    XML_Parser parser;
    ~ParserFree() { XML_ParserFree(parser); }
  } free_parser{builder.parser};

  XML_SetUserData(builder.parser, &builder);
  XML_SetElementHandler(builder.parser, on_element_start, on_element_end);
  XML_SetCharacterDataHandler(builder.parser, on_character_data);
  XML_SetStartDoctypeDeclHandler(builder.parser, on_doctype);

  const XML_Status status =
      XML_Parse(builder.parser, text.data(), static_cast<int>(text.size()), XML_TRUE);
  if (status != XML_STATUS_OK || !builder.refusal.empty()) {
    const auto line = XML_GetCurrentLineNumber(builder.parser);
    const auto column = XML_GetCurrentColumnNumber(builder.parser);
    const std::string why = !builder.refusal.empty()
                                ? builder.refusal
                                : XML_ErrorString(XML_GetErrorCode(builder.parser));
    error.message = "malformed XML (" + why + " at line " + std::to_string(line) + ", column " +
                    std::to_string(column) + ")";
    return error;
  }
  if (!builder.root) {
    error.message = "malformed XML (no root element)";
    return error;
  }
  return std::move(*builder.root);
}

// ---------------------------------------------------------------------------------------------
// Error codes

bool is_throttling_code(const std::string& code) {
  static constexpr std::array<std::string_view, 14> kCodes = {
      "Throttling",
      "ThrottlingException",
      "ThrottledException",
      "RequestThrottledException",
      "TooManyRequestsException",
      "ProvisionedThroughputExceededException",
      "TransactionInProgressException",
      "RequestLimitExceeded",
      "BandwidthLimitExceeded",
      "LimitExceededException",
      "RequestThrottled",
      "SlowDown",
      "PriorRequestNotComplete",
      "EC2ThrottledException",
  };
  return std::find(kCodes.begin(), kCodes.end(), code) != kCodes.end();
}

bool is_credential_rejection_code(const std::string& code) {
  static constexpr std::array<std::string_view, 10> kCodes = {
      "UnrecognizedClientException",
      "InvalidClientTokenId",
      "SignatureDoesNotMatch",
      "InvalidSignatureException",
      "IncompleteSignatureException",
      "MissingAuthenticationTokenException",
      "ExpiredTokenException",
      "ExpiredToken",
      "AuthFailure",
      "InvalidAccessKeyId",
  };
  return std::find(kCodes.begin(), kCodes.end(), code) != kCodes.end();
}

Error parse_aws_error(const http::Response& response, const std::string& operation,
                      const std::string& region) {
  Error error;
  error.kind = ErrorKind::kHttp;
  error.operation = operation;
  error.region = region;
  error.http_status = response.status;
  for (const char* header : {"x-amzn-RequestId", "x-amz-request-id"}) {
    if (error.request_id.empty()) error.request_id = trim(response.headers.get(header));
  }

  std::string code = response.headers.get("X-Amzn-Errortype");
  std::string message;
  bool understood = false;
  const std::string body = trim(response.body);
  if (!body.empty() && body.front() == '{') {
    const auto parsed = nlohmann::json::parse(body, nullptr, false);
    if (!parsed.is_discarded() && parsed.is_object()) {
      understood = true;
      if (code.empty()) code = json_string_member(parsed, "code");
      if (code.empty()) code = json_string_member(parsed, "__type");
      message = json_string_member(parsed, "message");
      if (message.empty()) message = json_string_member(parsed, "Message");
    }
  } else if (!body.empty() && body.front() == '<') {
    // Query (STS: ErrorResponse/Error), EC2 (Response/Errors/Error) and S3-style (Error at the
    // root, as some front ends and moto send).
    auto document = parse_xml(body);
    if (document.ok()) {
      const XmlElement& root = document.value();
      const XmlElement* error_element =
          root.name == "Error" ? &root : root.find_descendant("Error");
      if (error_element != nullptr) {
        understood = true;
        if (code.empty()) code = error_element->text_at("Code");
        message = error_element->text_at("Message");
      }
      if (error.request_id.empty()) {
        for (const char* name : {"RequestId", "RequestID"}) {
          const XmlElement* id = root.name == name ? &root : root.find_descendant(name);
          if (id != nullptr && error.request_id.empty()) error.request_id = trim(id->text);
        }
      }
    }
  }

  error.provider_code = normalize_error_code(code);
  error.message = one_line(message);
  if (error.provider_code.empty() && error.message.empty()) {
    if (body.empty()) {
      error.message = "error answer with an empty body";
    } else {
      error.message = std::string(understood ? "error answer without a code: "
                                             : "unrecognised error answer: ") +
                      printable_excerpt(body, kMaxExcerpt);
    }
  }
  return error;
}

http::RetryPolicy aws_retry_policy() {
  http::RetryPolicy policy;
  policy.max_attempts = 5;
  policy.base_delay = std::chrono::milliseconds{100};
  policy.max_delay = std::chrono::milliseconds{5000};
  policy.classify_response = [](const http::Response& response) {
    const int status = response.status;
    if (status == 429 || status == 500 || status == 502 || status == 503 || status == 504) {
      return http::RetryDecision::kRetry;
    }
    // KMS and friends throttle with HTTP 400 and say so only in the body.
    if (status >= 400 && is_throttling_code(parse_aws_error(response, "", "").provider_code)) {
      return http::RetryDecision::kRetry;
    }
    return http::RetryDecision::kDone;
  };
  policy.classify_error = [](const Error& error) {
    return error.kind == ErrorKind::kTransport ? http::RetryDecision::kRetry
                                               : http::RetryDecision::kDone;
  };
  return policy;
}

// ---------------------------------------------------------------------------------------------
// Client

AwsClient::AwsClient(const Environment& env, http::Transport& transport, const Clock& clock,
                     std::shared_ptr<CredentialProvider> credentials)
    : env_(env), transport_(transport), clock_(clock), credentials_(std::move(credentials)) {}

std::size_t AwsClient::requests_sent() const { return requests_sent_.load(); }

// Returns a 2xx answer; anything else becomes an Error with the request's context.
Result<http::Response> AwsClient::send_signed(Service service, const std::string& region,
                                              http::Request request) {
  if (!credentials_) {
    return client_error(ErrorKind::kCredentials, request.operation, region,
                        "no AWS credential source is configured");
  }
  Result<Credentials> credentials = credentials_->get();
  if (!credentials.ok()) {
    Error error = credentials.error();
    error.kind = ErrorKind::kCredentials;
    if (error.operation.empty()) error.operation = request.operation;
    if (error.region.empty()) error.region = region;
    return error;
  }

  SigningParams params;
  params.region = signing_region(service, region);
  params.service = service_info(service).signing_name;
  params.time = clock_.now();
  // Signed once: the retrying transport resends these bytes, well inside SigV4's 5-minute window.
  sign_request(request, credentials.value(), params);

  http::RetryingTransport::clear_last_attempts();
  Result<http::Response> answer = transport_.send(request);
  requests_sent_ += static_cast<std::size_t>(std::max(1, http::RetryingTransport::last_attempts()));

  if (!answer.ok()) {
    Error error = answer.error();
    if (error.operation.empty()) error.operation = request.operation;
    if (error.region.empty()) error.region = region;
    redact_secrets(error, credentials.value(), request);
    return error;
  }
  const int status = answer.value().status;
  if (status < 200 || status > 299) {
    Error error = parse_aws_error(answer.value(), request.operation, region);
    redact_secrets(error, credentials.value(), request);
    return error;
  }
  return answer;
}

Result<nlohmann::json> AwsClient::call_json(Service service, const std::string& region,
                                            const std::string& operation,
                                            const nlohmann::json& input) {
  const ServiceInfo& info = service_info(service);
  const std::string label = operation_label(service, operation);
  auto endpoint = resolve_endpoint(env_, service, region);
  if (!endpoint.ok()) {
    Error error = endpoint.error();
    if (error.operation.empty()) error.operation = label;
    if (error.region.empty()) error.region = region;
    return error;
  }

  http::Request request;
  request.method = "POST";
  request.url = endpoint.value() + "/";
  request.operation = label;
  request.headers.add("Content-Type", "application/x-amz-json-1.1");
  request.headers.add("X-Amz-Target", std::string(info.json_target_prefix) + "." + operation);
  try {
    request.body = (input.is_null() || (input.is_object() && input.empty())) ? "{}" : input.dump();
  } catch (const nlohmann::json::exception&) {
    return client_error(ErrorKind::kUsage, label, region, "request input is not valid UTF-8");
  }

  auto answer = send_signed(service, region, std::move(request));
  if (!answer.ok()) return answer.error();

  const http::Response& response = answer.value();
  auto parsed = nlohmann::json::parse(response.body, nullptr, false);
  if (parsed.is_discarded() || !parsed.is_object()) {
    // No excerpt: a success body may hold secrets (temporary credentials).
    Error error =
        client_error(ErrorKind::kMalformed, label, region,
                     "the answer is not a JSON object (" + std::to_string(response.body.size()) +
                         " bytes; truncated or malformed)");
    error.http_status = response.status;
    error.request_id = response.headers.get("x-amzn-RequestId");
    return error;
  }
  return parsed;
}

Result<XmlElement> AwsClient::call_query(
    Service service, const std::string& region, const std::string& operation,
    const std::string& version, const std::vector<std::pair<std::string, std::string>>& params) {
  const std::string label = operation_label(service, operation);
  auto endpoint = resolve_endpoint(env_, service, region);
  if (!endpoint.ok()) {
    Error error = endpoint.error();
    if (error.operation.empty()) error.operation = label;
    if (error.region.empty()) error.region = region;
    return error;
  }

  http::Request request;
  request.method = "POST";
  request.url = endpoint.value() + "/";
  request.operation = label;
  request.headers.add("Content-Type", "application/x-www-form-urlencoded; charset=utf-8");
  request.body = "Action=" + form_encode(operation) + "&Version=" + form_encode(version);
  for (const auto& [name, value] : params) {
    request.body += "&" + form_encode(name) + "=" + form_encode(value);
  }

  auto answer = send_signed(service, region, std::move(request));
  if (!answer.ok()) return answer.error();

  const http::Response& response = answer.value();
  auto document = parse_xml(response.body);
  if (!document.ok()) {
    Error error =
        client_error(ErrorKind::kMalformed, label, region,
                     "the answer is not well-formed XML (" + std::to_string(response.body.size()) +
                         " bytes): " + document.error().message);
    error.http_status = response.status;
    error.request_id = response.headers.get("x-amzn-RequestId");
    return error;
  }
  return std::move(document).value();
}

}  // namespace hsmproof::aws
