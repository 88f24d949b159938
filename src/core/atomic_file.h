#pragma once
// Writes a whole file or nothing: content goes to a temporary file beside the target, is flushed
// to disk, then renamed over it, so an interrupted run never leaves a half-written report.

#include <string>

#include "core/result.h"

namespace hsmproof {

Status write_file_atomically(const std::string& path, const std::string& content);

}  // namespace hsmproof
