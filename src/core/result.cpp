#include "core/result.h"

namespace hsmproof {

std::string Error::describe() const {
  std::string out;
  if (!operation.empty()) out += operation;
  if (!region.empty()) out += (out.empty() ? "" : " ") + std::string("in ") + region;
  if (!resource.empty()) out += (out.empty() ? "" : " ") + std::string("on ") + resource;
  std::string code_part;
  if (!provider_code.empty()) code_part = provider_code;
  std::string paren;
  if (http_status != 0) paren += "HTTP " + std::to_string(http_status);
  if (!request_id.empty()) paren += (paren.empty() ? "" : ", ") + std::string("request id ") + request_id;
  if (!paren.empty()) code_part += (code_part.empty() ? "" : " ") + ("(" + paren + ")");
  if (!code_part.empty()) out += (out.empty() ? "" : ": ") + code_part;
  if (!message.empty()) out += (out.empty() ? "" : ": ") + message;
  return out;
}

}  // namespace hsmproof
