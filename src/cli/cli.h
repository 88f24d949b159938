#pragma once
// The command line: one table of subcommands (name, one-line help, function).

#include <iosfwd>
#include <string>
#include <vector>

namespace hsmproof::cli {

// Exit codes are a contract (DESIGN.md): scripts and CI rely on them.
enum ExitCode : int {
  kExitPass = 0,
  kExitFail = 1,
  kExitIncomplete = 2,
  kExitUsage = 3,  // usage or configuration error, including rejected credentials
  kExitInternal = 4,
};

struct Io {
  std::ostream& out;
  std::ostream& err;
  bool stdout_is_tty = false;
  bool stderr_is_tty = false;
};

using CommandFunction = int (*)(const std::vector<std::string>& args, Io& io);

struct Command {
  const char* name;
  const char* help;
  CommandFunction run;
};

const std::vector<Command>& commands();

// The closest command name within edit distance 2, or "" (for "did you mean …?").
std::string suggest_command(const std::string& typed);

int run(int argc, char** argv);
int run(const std::vector<std::string>& args, Io& io);

// Subcommands.
int scan_command(const std::vector<std::string>& args, Io& io);
int rules_command(const std::vector<std::string>& args, Io& io);
int permissions_command(const std::vector<std::string>& args, Io& io);
int sandbox_command(const std::vector<std::string>& args, Io& io);

const char* version();

}  // namespace hsmproof::cli
