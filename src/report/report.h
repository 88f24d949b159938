#pragma once
// Renders findings for people (text) and programs (JSON, the contract of DESIGN.md).
// Byte-stable: sorted input, fixed time format, injected time.

#include <string>

#include "core/clock.h"
#include "model/findings.h"

namespace hsmproof::report {

struct ReportContext {
  std::string tool_version;
  TimePoint generated_at;
  std::string trust_level = "self-collected";
  bool color = false;  // ANSI colours (only on a TTY)
};

std::string render_text(const model::Findings& findings, const ReportContext& context);
std::string render_json(const model::Findings& findings, const ReportContext& context);

}  // namespace hsmproof::report
