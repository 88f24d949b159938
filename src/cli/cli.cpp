#include "cli/cli.h"

#include "core/text.h"

#include <unistd.h>

#include <algorithm>
#include <exception>
#include <iostream>

namespace hsmproof::cli {

#ifndef HSMPROOF_VERSION
#define HSMPROOF_VERSION "0.0.0"
#endif

const char* version() { return HSMPROOF_VERSION; }

const std::vector<Command>& commands() {
  static const std::vector<Command> table = {
      {"scan", "read cloud settings and check them against the CA's key protection rules",
       scan_command},
      {"rules", "list every check: id, title, the requirement it implements, permissions",
       rules_command},
      {"permissions", "print the least-privilege policy a scan needs (aws)", permissions_command},
      {"sandbox", "serve emulated AWS and Azure endpoints from a scenario, on loopback",
       sandbox_command},
  };
  return table;
}

namespace {

void print_usage(std::ostream& out) {
  out << "hsmproof " << version()
      << " — proves that a code signing key lives in a cloud HSM, with the providers' own data\n\n"
      << "usage: hsmproof <command> [options]\n\ncommands:\n";
  for (const auto& command : commands()) {
    out << "  " << command.name << std::string(14 - std::string(command.name).size(), ' ')
        << command.help << "\n";
  }
  out << "\n'hsmproof <command> --help' shows a command's options.\n"
      << "exit codes: 0 pass, 1 fail, 2 incomplete, 3 usage or configuration error, 4 internal "
         "error\n";
}

}  // namespace

std::string suggest_command(const std::string& typed) {
  std::string best;
  std::size_t best_distance = 3;
  for (const auto& command : commands()) {
    const std::size_t distance = edit_distance(typed, command.name);
    if (distance < best_distance) {
      best_distance = distance;
      best = command.name;
    }
  }
  return best;
}

int run(const std::vector<std::string>& args, Io& io) {
  if (args.empty() || args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
    print_usage(io.out);
    return args.empty() ? kExitUsage : kExitPass;
  }
  if (args[0] == "--version" || args[0] == "-V") {
    io.out << "hsmproof " << version() << "\n";
    return kExitPass;
  }
  const auto& table = commands();
  const auto it = std::find_if(table.begin(), table.end(),
                               [&](const Command& c) { return args[0] == c.name; });
  if (it == table.end()) {
    io.err << "hsmproof: unknown command '" << args[0] << "'";
    const std::string suggestion = suggest_command(args[0]);
    if (!suggestion.empty()) io.err << "; did you mean '" << suggestion << "'?";
    io.err << " Run 'hsmproof --help' for the list of commands.\n";
    return kExitUsage;
  }
  return it->run(std::vector<std::string>(args.begin() + 1, args.end()), io);
}

int run(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  Io io{std::cout, std::cerr, ::isatty(STDOUT_FILENO) == 1, ::isatty(STDERR_FILENO) == 1};
  try {
    return run(args, io);
  } catch (const std::exception& e) {
    std::cerr << "hsmproof: internal error: " << e.what()
              << " (please report this with the command you ran)\n";
    return kExitInternal;
  } catch (...) {
    std::cerr << "hsmproof: internal error (please report this with the command you ran)\n";
    return kExitInternal;
  }
}

}  // namespace hsmproof::cli
