#pragma once
// The sandbox from the command line: `hsmproof sandbox`, and the in-process sandbox behind
// `hsmproof scan --sandbox`.

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/result.h"
#include "sandbox/sandbox.h"

namespace hsmproof::cli {

// `export NAME=value`, the value quoted for a POSIX shell when it needs it.
std::string export_line(const std::string& name, const std::string& value);

// "127.0.0.1:8080", "[::1]:0", "localhost" (port 0): host and port; loopback hosts only.
Result<std::pair<std::string, int>> parse_listen_address(const std::string& text);

// Starts the scenario (a file, a built-in name, or "" for the default) on a free loopback port
// over HTTPS and points this process at it exactly as a user would: every AWS_* and AZURE_*
// variable is removed (a profile or a session token would otherwise win over the sandbox's
// keys), then the sandbox's client_environment() is set.
Result<std::unique_ptr<sandbox::Sandbox>> start_sandbox_for_scan(const std::string& scenario);

}  // namespace hsmproof::cli
