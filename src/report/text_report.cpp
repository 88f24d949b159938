// The text report is for a person at a terminal: verdict first, then what failed and how to fix
// it. Its layout is not a contract (the JSON report is), but it is byte-stable all the same.

#include <algorithm>
#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "report/report.h"

namespace hsmproof::report {

namespace {

using model::Status;

constexpr std::size_t kMaxResourcesShown = 20;
constexpr std::string_view kIndentCheck = "  ";
constexpr std::string_view kIndentDetail = "      ";

const char* status_word(Status status) {
  switch (status) {
    case Status::kPass:
      return "pass";
    case Status::kFail:
      return "fail";
    case Status::kIncomplete:
      return "incomplete";
    case Status::kNotApplicable:
      return "n/a";
  }
  return "incomplete";
}

const char* status_mark(Status status) {
  switch (status) {
    case Status::kPass:
      return "✓";
    case Status::kFail:
      return "✗";
    case Status::kIncomplete:
      return "?";
    case Status::kNotApplicable:
      return "-";
  }
  return "?";
}

std::string upper(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(), [](char c) {
    return (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c;
  });
  return out;
}

void append_hex_escape(std::string& out, std::uint32_t code_point) {
  static constexpr char kHex[] = "0123456789abcdef";
  out += "\\x";
  if (code_point > 0xff) {
    out += kHex[(code_point >> 12) & 0xf];
    out += kHex[(code_point >> 8) & 0xf];
  }
  out += kHex[(code_point >> 4) & 0xf];
  out += kHex[code_point & 0xf];
}

// Decodes one UTF-8 sequence at `pos`; returns its length, or 0 if it is invalid (stray
// continuation byte, truncated, overlong, surrogate or beyond U+10FFFF).
std::size_t decode_utf8(std::string_view text, std::size_t pos, std::uint32_t& code_point) {
  const auto lead = static_cast<unsigned char>(text[pos]);
  std::size_t length = 0;
  std::uint32_t minimum = 0;
  if (lead < 0x80) {
    code_point = lead;
    return 1;
  }
  if ((lead & 0xe0) == 0xc0) {
    length = 2;
    minimum = 0x80;
    code_point = lead & 0x1fu;
  } else if ((lead & 0xf0) == 0xe0) {
    length = 3;
    minimum = 0x800;
    code_point = lead & 0x0fu;
  } else if ((lead & 0xf8) == 0xf0) {
    length = 4;
    minimum = 0x10000;
    code_point = lead & 0x07u;
  } else {
    return 0;
  }
  if (pos + length > text.size()) return 0;
  for (std::size_t i = 1; i < length; ++i) {
    const auto next = static_cast<unsigned char>(text[pos + i]);
    if ((next & 0xc0) != 0x80) return 0;
    code_point = (code_point << 6) | (next & 0x3fu);
  }
  if (code_point < minimum || code_point > 0x10ffff) return 0;
  if (code_point >= 0xd800 && code_point <= 0xdfff) return 0;
  return length;
}

// Text from the cloud (key descriptions, error messages) reaches a terminal: control characters
// could forge lines or colours, so each becomes visible instead, and every report line stays one
// line. Invalid UTF-8 becomes U+FFFD.
std::string printable(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::uint32_t code_point = 0;
    const std::size_t length = decode_utf8(text, pos, code_point);
    if (length == 0) {
      out += "\xef\xbf\xbd";
      ++pos;
      continue;
    }
    if (code_point == '\n' || code_point == '\r' || code_point == '\t') {
      out += ' ';
    } else if (code_point < 0x20 || (code_point >= 0x7f && code_point <= 0x9f)) {
      append_hex_escape(out, code_point);
    } else {
      out.append(text.substr(pos, length));
    }
    pos += length;
  }
  return out;
}

class Painter {
 public:
  explicit Painter(bool enabled) : enabled_(enabled) {}

  [[nodiscard]] std::string bold(std::string_view text) const { return wrap("\x1b[1m", text); }

  [[nodiscard]] std::string tinted(Status status, std::string_view text,
                                   bool emphasised = false) const {
    const char* code = nullptr;
    switch (status) {
      case Status::kPass:
        code = emphasised ? "\x1b[1;32m" : "\x1b[32m";
        break;
      case Status::kFail:
        code = emphasised ? "\x1b[1;31m" : "\x1b[31m";
        break;
      case Status::kIncomplete:
        code = emphasised ? "\x1b[1;33m" : "\x1b[33m";
        break;
      case Status::kNotApplicable:
        code = emphasised ? "\x1b[1m" : nullptr;
        break;
    }
    return code != nullptr ? wrap(code, text) : std::string(text);
  }

 private:
  [[nodiscard]] std::string wrap(const char* code, std::string_view text) const {
    if (!enabled_ || text.empty()) return std::string(text);
    return std::string(code) + std::string(text) + "\x1b[0m";
  }

  bool enabled_;
};

std::string pad_right(std::string text, std::size_t width) {
  if (text.size() < width) text.append(width - text.size(), ' ');
  return text;
}

// "✗ fail      ": the mark and a word padded to the widest word, so messages line up.
std::string status_label(Status status, const Painter& paint) {
  const std::string word = status_word(status);
  const std::string label = std::string(status_mark(status)) + " " + word;
  const std::size_t padding = std::string_view("incomplete").size() - word.size();
  return paint.tinted(status, label) + std::string(padding, ' ');
}

struct ColumnWidths {
  std::size_t kind = 0;
  std::size_t account = 0;
  std::size_t region = 0;
  std::size_t name = 0;
};

// Widths in bytes: the fields are identifiers (kinds, account ids, regions, resource names), so
// bytes and terminal columns agree.
ColumnWidths column_widths(const std::vector<model::LocationFinding>& locations) {
  ColumnWidths widths;
  for (const auto& location : locations) {
    widths.kind = std::max(widths.kind, printable(location.kind).size());
    widths.account = std::max(widths.account, printable(location.account).size());
    widths.region = std::max(widths.region, printable(location.region).size());
    widths.name = std::max(widths.name, printable(location.name).size());
  }
  return widths;
}

std::string location_header(const model::LocationFinding& location, const ColumnWidths& widths,
                            const Painter& paint) {
  std::string columns = pad_right(printable(location.kind), widths.kind) + "  " +
                        pad_right(printable(location.account), widths.account) + "  " +
                        pad_right(printable(location.region), widths.region) + "  ";
  // AWS kinds have no name; the column exists only when some location has one.
  if (widths.name > 0) columns += pad_right(printable(location.name), widths.name) + "  ";
  std::string line = paint.bold(columns) +
                     paint.tinted(location.verdict, upper(status_word(location.verdict)), true);
  if (location.holds_requested_key) line += "  " + paint.bold("[holds --key]");
  return line + "\n";
}

bool is_offending(Status status) {
  return status == Status::kFail || status == Status::kIncomplete;
}

void append_resources(std::string& out, const model::CheckFinding& check, const Painter& paint) {
  std::vector<const model::ResourceFinding*> shown;
  for (const auto& resource : check.resources) {
    if (is_offending(resource.status)) shown.push_back(&resource);
  }
  // A check can fail with no failing resource (e.g. "no key has SIGN_VERIFY"): then every
  // resource is the evidence.
  if (shown.empty()) {
    for (const auto& resource : check.resources) shown.push_back(&resource);
  }
  const std::size_t limit = std::min(shown.size(), kMaxResourcesShown);
  for (std::size_t i = 0; i < limit; ++i) {
    const auto& resource = *shown[i];
    out += kIndentDetail;
    out += paint.tinted(resource.status, status_mark(resource.status));
    out += ' ';
    out += printable(resource.id);
    if (!resource.detail.empty()) out += "  " + printable(resource.detail);
    out += '\n';
  }
  if (shown.size() > limit) {
    out += std::string(kIndentDetail) + "… and " + std::to_string(shown.size() - limit) + " more\n";
  }
}

void append_check(std::string& out, const model::CheckFinding& check, const Painter& paint) {
  out += kIndentCheck;
  out += status_label(check.status, paint);
  out += "  ";
  out += printable(check.id);
  if (!check.message.empty()) out += ": " + printable(check.message);
  out += '\n';
  const bool needs_attention = is_offending(check.status);
  if (needs_attention) append_resources(out, check, paint);
  // Warnings ride along with any status (a passing cluster in NON_FIPS mode still deserves a look).
  for (const auto& warning : check.warnings) {
    out += std::string(kIndentDetail) + paint.tinted(Status::kIncomplete, "warning:") + " " +
           printable(warning) + "\n";
  }
  if (needs_attention) {
    for (const auto& command : check.remediation) {
      out += std::string(kIndentDetail) + paint.bold("fix:") + " " + printable(command) + "\n";
    }
  }
}

std::string plural(std::size_t count, std::string_view singular, std::string_view plural_form) {
  return std::to_string(count) + " " + std::string(count == 1 ? singular : plural_form);
}

std::string summary_line(const std::vector<model::LocationFinding>& locations,
                         const Painter& paint) {
  if (locations.empty()) return "No locations to judge.\n";
  constexpr std::array kOrder = {Status::kPass, Status::kFail, Status::kIncomplete,
                                 Status::kNotApplicable};
  std::string counts;
  for (const Status status : kOrder) {
    const auto count = static_cast<std::size_t>(
        std::count_if(locations.begin(), locations.end(),
                      [status](const auto& location) { return location.verdict == status; }));
    if (count == 0) continue;
    if (!counts.empty()) counts += ", ";
    counts += paint.tinted(status, std::to_string(count) + " " + status_word(status));
  }
  return plural(locations.size(), "location", "locations") + ": " + counts + "\n";
}

}  // namespace

std::string render_text(const model::Findings& findings, const ReportContext& context) {
  const Painter paint(context.color);
  std::string out;

  out += paint.tinted(findings.verdict, upper(status_word(findings.verdict)), true);
  if (!findings.verdict_reason.empty()) out += "  — " + printable(findings.verdict_reason);
  out += '\n';
  out += "baseline " + printable(findings.baseline) + " · trust level " +
         printable(context.trust_level) + " · hsmproof " + printable(context.tool_version) + " · " +
         format_iso8601(context.generated_at) + "\n";
  if (!findings.requested_keys.empty()) {
    out += "requested keys:";
    for (const auto& key : findings.requested_keys) out += " " + printable(key);
    out += '\n';
  }

  if (!findings.scope_errors.empty()) {
    out += '\n';
    out += paint.bold("Could not determine scope:") + "\n";
    for (const auto& error : findings.scope_errors) {
      out += std::string(kIndentCheck) +
             paint.tinted(Status::kIncomplete, status_mark(Status::kIncomplete)) + " " +
             printable(error.describe()) + "\n";
    }
    out += std::string(kIndentCheck) + "hint: pass --region to scan specific regions\n";
  }

  const ColumnWidths widths = column_widths(findings.locations);
  for (const auto& location : findings.locations) {
    out += '\n';
    out += location_header(location, widths, paint);
    for (const auto& check : location.checks) append_check(out, check, paint);
  }

  out += '\n';
  out += summary_line(findings.locations, paint);
  const bool any_failed =
      std::any_of(findings.locations.begin(), findings.locations.end(),
                  [](const auto& location) { return location.verdict == Status::kFail; });
  if (any_failed) out += "Run with --format json for machine-readable output.\n";
  return out;
}

}  // namespace hsmproof::report
