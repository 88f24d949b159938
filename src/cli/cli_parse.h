#pragma once
// Shared CLI11 handling for subcommands: --help prints and exits 0; any parse error is one line
// naming the problem and how to get help, exit 3.

#include <CLI/CLI.hpp>

#include <optional>
#include <string>
#include <vector>

#include "cli/cli.h"

namespace hsmproof::cli {

// Returns an exit code when the command must stop here (help shown or bad arguments).
inline std::optional<int> parse_command_line(CLI::App& app, const std::vector<std::string>& args,
                                             Io& io) {
  // CLI11 consumes arguments from the back of the vector.
  std::vector<std::string> reversed(args.rbegin(), args.rend());
  try {
    app.parse(reversed);
  } catch (const CLI::CallForHelp&) {
    io.out << app.help();
    return kExitPass;
  } catch (const CLI::ParseError& e) {
    io.err << app.get_name() << ": " << e.what() << ". Run '" << app.get_name()
           << " --help' for the options.\n";
    return kExitUsage;
  }
  return std::nullopt;
}

}  // namespace hsmproof::cli
