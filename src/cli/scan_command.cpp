// `hsmproof scan`: collect -> evaluate -> render. The only place where the layers meet.

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <mutex>
#include <ostream>

#include "cli/cli.h"
#include "cli/cli_parse.h"
#include "cli/sandbox_command.h"
#include "collect/aws/aws_client.h"
#include "collect/aws/collector.h"
#include "collect/aws/credentials.h"
#include "core/atomic_file.h"
#include "core/clock.h"
#include "core/environment.h"
#include "core/task_pool.h"
#include "http/retry.h"
#include "report/report.h"
#include "rules/baseline.h"
#include "rules/evaluate.h"

namespace hsmproof::cli {

namespace {

struct ScanOptions {
  bool aws = false;
  bool azure = false;
  std::vector<std::string> regions;
  std::vector<std::string> keys;
  std::string profile;
  std::string format = "text";
  std::string output;
  std::string baseline = "entrust";
  std::size_t concurrency = 16;
  bool quiet = false;
  bool sandbox = false;
  std::string scenario;
};

int exit_code_for(model::Status verdict) {
  switch (verdict) {
    case model::Status::kPass:
      return kExitPass;
    case model::Status::kFail:
      return kExitFail;
    default:
      return kExitIncomplete;
  }
}

// A single progress line on stderr, redrawn at most ten times a second, only on a terminal.
class ProgressLine {
 public:
  ProgressLine(std::ostream& err, bool enabled) : err_(err), enabled_(enabled) {}
  void update(std::size_t done, std::size_t known) {
    if (!enabled_) return;
    const auto now = std::chrono::steady_clock::now();
    std::lock_guard lock(mutex_);
    if (now - last_draw_ < std::chrono::milliseconds(100)) return;
    last_draw_ = now;
    err_ << fmt::format("\rscanning AWS: {} of {} API calls done", done, known) << std::flush;
    drawn_ = true;
  }
  void finish() {
    std::lock_guard lock(mutex_);
    if (drawn_) err_ << "\r\033[K" << std::flush;
  }

 private:
  std::ostream& err_;
  bool enabled_;
  std::mutex mutex_;
  std::chrono::steady_clock::time_point last_draw_{};
  bool drawn_ = false;
};

}  // namespace

int scan_command(const std::vector<std::string>& args, Io& io) {
  ScanOptions options;
  CLI::App app{
      "Reads the cloud's key, logging and HSM settings through the providers' APIs and checks them "
      "against the CA's code signing key protection rules (DESIGN.md). Exit codes: 0 pass, 1 fail, "
      "2 incomplete, 3 usage or configuration error, 4 internal error.",
      "hsmproof scan"};
  app.add_flag("--aws", options.aws,
               "Scan AWS (KMS, CloudTrail, CloudHSM) with the standard AWS credential chain and "
               "AWS_ENDPOINT_URL[_<SERVICE>]");
  app.add_flag("--azure", options.azure, "Scan Azure (not available yet in this version)");
  app.add_option("--region", options.regions,
                 "AWS region to scan (repeatable; default: every enabled region)")
      ->type_name("REGION");
  app.add_option("--key", options.keys,
                 "Code signing key: KMS key id, key ARN, alias/NAME or alias ARN (repeatable); the "
                 "verdict is that of the locations holding these keys")
      ->type_name("KEY");
  app.add_option("--profile", options.profile, "AWS shared config profile (default: AWS_PROFILE)")
      ->type_name("NAME");
  app.add_option("--format", options.format, "Report format")
      ->check(CLI::IsMember({"text", "json"}))
      ->type_name("text|json");
  app.add_option("--output", options.output,
                 "Write the report to FILE (atomically) instead of standard output")
      ->type_name("FILE");
  app.add_option("--baseline", options.baseline,
                 "Requirement set: " + fmt::format("{}", fmt::join(rules::builtin_baseline_names(), ", ")))
      ->type_name("NAME");
  app.add_option("--concurrency", options.concurrency, "API calls in flight at once")
      ->check(CLI::Range(1, 256))
      ->type_name("N");
  app.add_flag("--quiet", options.quiet, "No progress line on standard error");
  app.add_flag("--sandbox", options.sandbox,
               "Scan a local emulation of the clouds, started in this process from a scenario "
               "(no cloud account needed); the environment's AWS_* and AZURE_* settings are "
               "replaced by the sandbox's");
  app.add_option("--scenario", options.scenario,
                 "With --sandbox: scenario file or built-in name (default: the built-in one)")
      ->type_name("FILE");

  if (auto parsed = parse_command_line(app, args, io); parsed.has_value()) return *parsed;

  if (options.azure) {
    io.err << "hsmproof scan: --azure is not available in this version; scan AWS with --aws.\n";
    return kExitUsage;
  }
  options.aws = true;  // AWS is the only provider so far, so it is the default.

  if (!options.scenario.empty() && !options.sandbox) {
    io.err << "hsmproof scan: --scenario goes with --sandbox.\n";
    return kExitUsage;
  }
  // Declared before everything that talks to it, so it outlives the transports and the pool.
  std::unique_ptr<sandbox::Sandbox> sandbox_server;
  if (options.sandbox) {
    if (!options.profile.empty()) {
      io.err << "hsmproof scan: --profile cannot be combined with --sandbox, which brings its "
                "own credentials.\n";
      return kExitUsage;
    }
    auto started = start_sandbox_for_scan(options.scenario);
    if (!started.ok()) {
      io.err << "hsmproof scan: " << started.error().message << "\n";
      return started.error().kind == ErrorKind::kUsage ? kExitUsage : kExitInternal;
    }
    sandbox_server = std::move(started).value();
  }

  const Result<rules::Baseline> baseline = rules::builtin_baseline(options.baseline);
  if (!baseline.ok()) {
    io.err << "hsmproof scan: " << baseline.error().message << "\n";
    return kExitUsage;
  }

  ProcessEnvironment env;
  SystemClock clock;
  http::TransportOptions transport_options;
  transport_options.user_agent = std::string("hsmproof/") + version();
  if (auto bundle = env.get("AWS_CA_BUNDLE"); bundle && !bundle->empty()) {
    if (!env.file_exists(*bundle)) {
      io.err << "hsmproof scan: AWS_CA_BUNDLE names " << *bundle
             << ", which does not exist; point it at a PEM file of trusted CA certificates.\n";
      return kExitUsage;
    }
    transport_options.ca_bundle_path = *bundle;
  }
  const auto curl = http::make_curl_transport(transport_options);
  http::RetryingTransport transport(*curl, aws::aws_retry_policy());

  // Link-local metadata services get short timeouts, so a run off AWS with nothing configured
  // fails in seconds, not after the main transport's minute.
  http::TransportOptions metadata_options = transport_options;
  metadata_options.connect_timeout = std::chrono::milliseconds(1000);
  metadata_options.total_timeout = std::chrono::milliseconds(3000);
  const auto metadata_transport = http::make_curl_transport(metadata_options);

  aws::CredentialChainOptions chain_options;
  chain_options.profile = options.profile;
  chain_options.metadata_transport = metadata_transport.get();
  // Without --region, STS and DescribeRegions go to the configured region (env, then profile).
  if (!options.regions.empty()) chain_options.region = options.regions.front();
  const auto region = aws::resolve_default_region(env, chain_options);
  if (!region.ok()) {
    io.err << "hsmproof scan: " << region.error().message << "\n";
    return kExitUsage;
  }
  chain_options.region = region.value();
  auto credentials = aws::resolve_credential_chain(env, transport, clock, chain_options);
  if (!credentials.ok()) {
    io.err << "hsmproof scan: " << credentials.error().message << "\n";
    return kExitUsage;
  }

  aws::AwsClient client(env, transport, clock, credentials.value());
  TaskPool pool(options.concurrency);
  ProgressLine progress(io.err, io.stderr_is_tty && !options.quiet);
  aws::CollectOptions collect_options;
  collect_options.regions = options.regions;
  collect_options.default_region = region.value();
  auto inventory = aws::collect_inventory(
      client, pool, collect_options,
      [&progress](std::size_t done, std::size_t known) { progress.update(done, known); });
  progress.finish();
  if (!inventory.ok()) {
    const Error& error = inventory.error();
    if (error.kind == ErrorKind::kCredentials) {
      io.err << "hsmproof scan: " << error.describe()
             << "\nCheck the access key and secret (or profile) you are using; see "
                "'hsmproof permissions aws' for the permissions the scan needs.\n";
      return kExitUsage;
    }
    if (error.kind == ErrorKind::kUsage) {
      io.err << "hsmproof scan: " << error.message << "\n";
      return kExitUsage;
    }
    io.err << "hsmproof scan: could not identify the AWS account: " << error.describe()
           << "\nNothing was checked; the result is incomplete.\n";
    return kExitIncomplete;
  }

  model::Inventory all;
  all.aws = std::move(inventory).value();
  rules::EvaluateOptions evaluate_options;
  evaluate_options.requested_keys = options.keys;
  const model::Findings findings = rules::evaluate(all, baseline.value(), evaluate_options);

  report::ReportContext context;
  context.tool_version = version();
  context.generated_at = clock.now();
  const bool to_terminal = options.output.empty() && io.stdout_is_tty;
  context.color = to_terminal && !env.get("NO_COLOR").has_value();
  const std::string rendered = options.format == "json" ? report::render_json(findings, context)
                                                        : report::render_text(findings, context);
  if (options.output.empty()) {
    io.out << rendered << std::flush;
  } else {
    if (Status written = write_file_atomically(options.output, rendered); !written.ok()) {
      io.err << "hsmproof scan: " << written.error().message << "\n";
      return kExitUsage;
    }
    io.err << "hsmproof: wrote " << options.output << " (verdict: " << model::to_string(findings.verdict)
           << ", " << client.requests_sent() << " API calls)\n";
  }
  return exit_code_for(findings.verdict);
}

}  // namespace hsmproof::cli
