#pragma once
// Small text helpers shared by the CLI, the scenario parser and the sandbox's wire formats.

#include <cstddef>
#include <string>

namespace hsmproof {

// Levenshtein distance, for "did you mean …?" suggestions.
std::size_t edit_distance(const std::string& a, const std::string& b);

// application/x-www-form-urlencoded decoding: '+' is a space, %XX a byte; a malformed escape is
// kept as written.
std::string form_decode(const std::string& text);

// Escapes the five XML special characters for element text and attribute values.
std::string xml_escape(const std::string& text);

}  // namespace hsmproof
