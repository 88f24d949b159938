// `hsmproof sandbox`: serves a scenario's AWS and Azure endpoints on loopback until interrupted,
// or writes a generated scenario.

#include "cli/sandbox_command.h"

#include <fmt/format.h>
#include <pthread.h>
#include <signal.h>

#include <CLI/CLI.hpp>
#include <cstdlib>
#include <cstring>
#include <ostream>

#include "cli/cli.h"
#include "cli/cli_parse.h"
#include "collect/aws/endpoints.h"
#include "core/atomic_file.h"
#include "sandbox/scenario.h"

extern char** environ;  // NOLINT: POSIX

namespace hsmproof::cli {

std::string export_line(const std::string& name, const std::string& value) {
  const bool plain = !value.empty() && value.find_first_not_of(
                                           "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                           "0123456789_./:@%+=,-") == std::string::npos;
  if (plain) return "export " + name + "=" + value;
  std::string quoted = "'";
  for (const char c : value) {
    if (c == '\'') {
      quoted += "'\\''";
    } else {
      quoted += c;
    }
  }
  return "export " + name + "=" + quoted + "'";
}

Result<std::pair<std::string, int>> parse_listen_address(const std::string& text) {
  const auto error = [&](const std::string& message) {
    Error e;
    e.kind = ErrorKind::kUsage;
    e.message = "--listen " + text + ": " + message;
    return e;
  };
  std::string host;
  std::string port_text;
  if (!text.empty() && text.front() == '[') {
    const std::size_t close = text.find(']');
    if (close == std::string::npos) return error("unclosed [ in an IPv6 address");
    host = text.substr(1, close - 1);
    if (close + 1 < text.size()) {
      if (text[close + 1] != ':') return error("expected :PORT after ]");
      port_text = text.substr(close + 2);
    }
  } else {
    const std::size_t colon = text.rfind(':');
    const bool bare_ipv6 = colon != std::string::npos && text.find(':') != colon;
    if (colon == std::string::npos || bare_ipv6) {
      host = text;
    } else {
      host = text.substr(0, colon);
      port_text = text.substr(colon + 1);
    }
  }
  int port = 0;
  if (!port_text.empty()) {
    if (port_text.find_first_not_of("0123456789") != std::string::npos || port_text.size() > 5 ||
        std::stoi(port_text) > 65535) {
      return error("the port must be a number from 0 (any free port) to 65535");
    }
    port = std::stoi(port_text);
  }
  if (host.empty()) return error("no host (expected e.g. 127.0.0.1:8443)");
  if (!aws::is_loopback_host(host)) {
    return error(
        "the sandbox listens on loopback only (127.0.0.1, ::1 or localhost): its "
        "credentials are test data that anyone could read");
  }
  return std::make_pair(host, port);
}

Result<std::unique_ptr<sandbox::Sandbox>> start_sandbox_for_scan(const std::string& scenario_name) {
  Result<sandbox::Scenario> scenario = sandbox::load_scenario(scenario_name);
  if (!scenario.ok()) return scenario.error();
  sandbox::SandboxOptions options;
  options.listen_host = "127.0.0.1";
  auto started = sandbox::Sandbox::start(std::move(scenario).value(), options);
  if (!started.ok()) return started.error();

  std::vector<std::string> inherited;
  for (char** entry = environ; entry != nullptr && *entry != nullptr; ++entry) {
    const std::string variable = *entry;
    const std::string name = variable.substr(0, variable.find('='));
    if (name.rfind("AWS_", 0) == 0 || name.rfind("AZURE_", 0) == 0) inherited.push_back(name);
  }
  for (const auto& name : inherited) ::unsetenv(name.c_str());
  for (const auto& [name, value] : started.value()->client_environment()) {
    ::setenv(name.c_str(), value.c_str(), 1);
  }
  return std::move(started).value();
}

namespace {

struct SandboxOptions {
  std::string scenario;
  std::string listen = "127.0.0.1:0";
  bool plain_http = false;
  std::vector<std::string> faults;
  int latency_ms = 0;
  std::string generate;
  std::string output;
};

int generate(const SandboxOptions& options, Io& io) {
  const Result<sandbox::Scenario> scenario = sandbox::generate_scenario(options.generate);
  if (!scenario.ok()) {
    io.err << "hsmproof sandbox: " << scenario.error().message << "\n";
    return kExitUsage;
  }
  const std::string text = sandbox::scenario_to_json(scenario.value()).dump(2) + "\n";
  if (options.output.empty()) {
    io.out << text << std::flush;
    return kExitPass;
  }
  if (Status written = write_file_atomically(options.output, text); !written.ok()) {
    io.err << "hsmproof sandbox: " << written.error().message << "\n";
    return kExitUsage;
  }
  io.err << "hsmproof sandbox: wrote " << options.output << "\n";
  return kExitPass;
}

}  // namespace

int sandbox_command(const std::vector<std::string>& args, Io& io) {
  SandboxOptions options;
  CLI::App app{
      "Serves emulated AWS (KMS, CloudTrail, CloudHSM v2, STS, EC2, Organizations) and Azure "
      "(Entra ID, Resource Manager, Key Vault, Managed HSM, Monitor, Policy) endpoints on "
      "loopback, seeded from a scenario. Prints the `export NAME=value` lines a client needs, "
      "then serves until interrupted (Ctrl-C).",
      "hsmproof sandbox"};
  app.add_option("--scenario", options.scenario,
                 "Scenario file, or a built-in scenario's name (default: the built-in 'default')")
      ->type_name("FILE");
  app.add_option("--listen", options.listen, "Loopback address and port (0 = any free port)")
      ->type_name("HOST:PORT");
  app.add_flag("--http", options.plain_http, "Serve plain HTTP instead of HTTPS");
  app.add_option("--fault", options.faults,
                 "Inject a fault (repeatable): KIND[:service[:operation[:region]]], KIND one of "
                 "throttle, server_error, truncate, reset, deny; e.g. "
                 "throttle:kms:ListKeys:eu-west-1")
      ->allow_extra_args(false)
      ->type_name("FAULT");
  app.add_option("--latency-ms", options.latency_ms, "Delay every answer by N milliseconds")
      ->check(CLI::Range(0, 600000))
      ->type_name("N");
  app.add_option("--generate", options.generate,
                 "Write a generated scenario and exit, e.g. "
                 "accounts=2,regions=3,keys=50,subscriptions=2,vaults=5")
      ->type_name("SPEC");
  app.add_option("--output", options.output,
                 "With --generate: write the scenario to FILE (atomically) instead of standard "
                 "output")
      ->type_name("FILE");
  if (auto parsed = parse_command_line(app, args, io); parsed.has_value()) return *parsed;

  if (!options.generate.empty()) return generate(options, io);
  if (!options.output.empty()) {
    io.err << "hsmproof sandbox: --output goes with --generate; the server prints its settings "
              "on standard output.\n";
    return kExitUsage;
  }

  const auto listen = parse_listen_address(options.listen);
  if (!listen.ok()) {
    io.err << "hsmproof sandbox: " << listen.error().message << "\n";
    return kExitUsage;
  }
  Result<sandbox::Scenario> scenario = sandbox::load_scenario(options.scenario);
  if (!scenario.ok()) {
    io.err << "hsmproof sandbox: " << scenario.error().message << "\n";
    return kExitUsage;
  }
  sandbox::Scenario loaded = std::move(scenario).value();
  for (const auto& text : options.faults) {
    auto fault = sandbox::parse_fault_flag(text);
    if (!fault.ok()) {
      io.err << "hsmproof sandbox: " << fault.error().message << "\n";
      return kExitUsage;
    }
    loaded.faults.push_back(fault.value());
  }
  if (options.latency_ms > 0) {
    sandbox::FaultSpec latency;
    latency.kind = "latency";
    latency.latency_ms = options.latency_ms;
    loaded.faults.push_back(latency);
  }
  const std::string scenario_name = loaded.name;

  // The server's threads inherit this mask, so SIGINT and SIGTERM reach only sigwait below.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  sigset_t previous;
  pthread_sigmask(SIG_BLOCK, &stop_signals, &previous);

  sandbox::SandboxOptions server_options;
  server_options.listen_host = listen.value().first;
  server_options.port = listen.value().second;
  server_options.plain_http = options.plain_http;
  auto started = sandbox::Sandbox::start(std::move(loaded), server_options);
  if (!started.ok()) {
    pthread_sigmask(SIG_SETMASK, &previous, nullptr);
    io.err << "hsmproof sandbox: " << started.error().message << "\n";
    return started.error().kind == ErrorKind::kUsage ? kExitUsage : kExitInternal;
  }
  std::unique_ptr<sandbox::Sandbox> server = std::move(started).value();
  for (const auto& [name, value] : server->client_environment()) {
    io.out << export_line(name, value) << "\n";
  }
  io.out << std::flush;
  io.err << "hsmproof sandbox: serving scenario '" << scenario_name << "' at " << server->base_url()
         << (options.plain_http ? "" : " (CA certificate " + server->ca_bundle_path() + ")")
         << "; stop with Ctrl-C\n"
         << std::flush;

  int received = 0;
  sigwait(&stop_signals, &received);
  server->stop();
  io.err << "hsmproof sandbox: stopped (" << strsignal(received) << ") after "
         << server->requests_served() << " requests\n";
  server.reset();
  pthread_sigmask(SIG_SETMASK, &previous, nullptr);
  return kExitPass;
}

}  // namespace hsmproof::cli
