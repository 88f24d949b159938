"""`hsmproof sandbox` and `hsmproof scan --sandbox` driven as a user would: the real binary as a
subprocess, its printed export lines, a shell, and Python's own TLS client trusting only the CA
the sandbox wrote. Faults are driven through `scan`, which must never report what it could not
read as passing."""

import json
import os
import select
import shlex
import signal
import ssl
import subprocess
import tempfile
import time
import unittest
import urllib.error
import urllib.request

BIN = os.environ.get("HSMPROOF_BIN", "")

EXPECTED_NAMES = [
    "AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_REGION",
    "AWS_CA_BUNDLE", "AZURE_TENANT_ID", "AZURE_CLIENT_ID", "AZURE_CLIENT_SECRET",
    "AZURE_AUTHORITY_HOST", "AZURE_RESOURCE_MANAGER_ENDPOINT", "SSL_CERT_FILE",
]


def clean_environment():
    """The caller's environment without any cloud settings, as on a fresh machine."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("AWS_", "AZURE_")) and k != "SSL_CERT_FILE"}
    env["HOME"] = tempfile.gettempdir()  # no ~/.aws of the machine's user
    return env


class Sandbox:
    """`hsmproof sandbox` in the background; `exports` holds what it printed, in order."""

    def __init__(self, *args):
        self.process = subprocess.Popen(
            [BIN, "sandbox", "--listen", "127.0.0.1:0", *args],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=clean_environment())
        self.lines = []
        self.exports = []
        # The "serving" line on stderr comes after the export lines were flushed.
        self.banner = self._read_line(self.process.stderr, 30)
        if "serving" not in self.banner:
            rest = self.process.stderr.read().decode() if self.process.poll() is not None else ""
            raise AssertionError("sandbox did not start: " + self.banner + rest)
        os.set_blocking(self.process.stdout.fileno(), False)
        text = b""
        while True:
            chunk = self.process.stdout.read()
            if not chunk:
                break
            text += chunk
        self.lines = text.decode().splitlines()
        for line in self.lines:
            name, _, value = line[len("export "):].partition("=")
            self.exports.append((name, shlex.split(value)[0] if value else ""))
        self.env = dict(self.exports)

    @staticmethod
    def _read_line(stream, timeout):
        deadline = time.monotonic() + timeout
        line = b""
        while not line.endswith(b"\n") and time.monotonic() < deadline:
            ready, _, _ = select.select([stream], [], [], max(0.0, deadline - time.monotonic()))
            if not ready:
                break
            byte = os.read(stream.fileno(), 1)
            if not byte:
                break
            line += byte
        return line.decode()

    def stop(self, sig=signal.SIGTERM):
        if self.process.poll() is None:
            self.process.send_signal(sig)
        try:
            code = self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise AssertionError("sandbox did not stop within 15 s")
        err = self.process.stderr.read().decode()
        self.process.stdout.close()
        self.process.stderr.close()
        return code, err

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


def run_hsmproof(args, env=None, timeout=600):
    return subprocess.run([BIN, *args], capture_output=True, text=True, timeout=timeout,
                          env=env if env is not None else clean_environment())


def aws_verdicts(report):
    return {f'{loc["kind"]} {loc["region"]}': loc["verdict"]
            for loc in report["locations"] if loc["provider"] == "aws"}


@unittest.skipUnless(BIN and os.path.exists(BIN), "HSMPROOF_BIN does not name the hsmproof binary")
class SandboxCommandTest(unittest.TestCase):

    def test_prints_the_exports_then_serves_https_with_its_ca(self):
        with Sandbox() as sandbox:
            self.assertEqual([name for name, _ in sandbox.exports], EXPECTED_NAMES)
            for line in sandbox.lines:
                self.assertTrue(line.startswith("export "), line)
            env = sandbox.env
            self.assertRegex(env["AWS_ENDPOINT_URL"], r"^https://127\.0\.0\.1:\d+$")
            self.assertEqual(env["AZURE_AUTHORITY_HOST"], env["AWS_ENDPOINT_URL"])
            self.assertEqual(env["AZURE_RESOURCE_MANAGER_ENDPOINT"], env["AWS_ENDPOINT_URL"])
            self.assertEqual(env["AWS_CA_BUNDLE"], env["SSL_CERT_FILE"])
            self.assertTrue(os.path.isfile(env["AWS_CA_BUNDLE"]))
            self.assertEqual(env["AWS_ACCESS_KEY_ID"], "AKIAIOSFODNN7SANDBOX")
            self.assertEqual(env["AWS_REGION"], "us-east-1")

            context = ssl.create_default_context(cafile=env["AWS_CA_BUNDLE"])
            with self.assertRaises(urllib.error.HTTPError) as raised:
                urllib.request.urlopen(env["AWS_ENDPOINT_URL"] + "/nothing/here", context=context,
                                       timeout=10)
            self.assertEqual(raised.exception.code, 404)
            body = json.loads(raised.exception.read())
            self.assertEqual(body["error"]["code"], "NotFound")

            # Python's default trust store does not know the sandbox's CA.
            with self.assertRaises(urllib.error.URLError) as untrusted:
                urllib.request.urlopen(env["AWS_ENDPOINT_URL"] + "/nothing",
                                       context=ssl.create_default_context(), timeout=10)
            self.assertIsInstance(untrusted.exception.reason, ssl.SSLCertVerificationError)

    def test_export_lines_survive_a_shell(self):
        with Sandbox() as sandbox:
            script = "\n".join(sandbox.lines) + '\nprintf "%s|%s" "$AZURE_CLIENT_SECRET" "$AWS_SECRET_ACCESS_KEY"'
            result = subprocess.run(["sh", "-c", script], capture_output=True, text=True, timeout=10)
            self.assertEqual(result.returncode, 0, result.stderr)
            self.assertEqual(result.stdout, "sandbox~not-a-real-secret~0123456789abcd|"
                                            "wJalrXUtnFEMI/K7MDENG+bPxRfiCYSANDBOXKEY")

    def test_sigterm_and_sigint_stop_it_cleanly(self):
        for sig in (signal.SIGTERM, signal.SIGINT):
            sandbox = Sandbox()
            ca = sandbox.env["AWS_CA_BUNDLE"]
            started = time.monotonic()
            code, err = sandbox.stop(sig)
            self.assertEqual(code, 0, err)
            self.assertLess(time.monotonic() - started, 5)
            self.assertIn("stopped", err)
            self.assertFalse(os.path.exists(ca), "the temporary CA directory is removed")

    def test_plain_http(self):
        with Sandbox("--http") as sandbox:
            names = [name for name, _ in sandbox.exports]
            self.assertNotIn("AWS_CA_BUNDLE", names)
            self.assertNotIn("SSL_CERT_FILE", names)
            self.assertRegex(sandbox.env["AWS_ENDPOINT_URL"], r"^http://127\.0\.0\.1:\d+$")
            with self.assertRaises(urllib.error.HTTPError) as raised:
                urllib.request.urlopen(sandbox.env["AWS_ENDPOINT_URL"] + "/x", timeout=10)
            self.assertEqual(raised.exception.code, 404)

    def test_refuses_a_non_loopback_address(self):
        result = run_hsmproof(["sandbox", "--listen", "0.0.0.0:8443"])
        self.assertEqual(result.returncode, 3)
        self.assertEqual(result.stdout, "")
        self.assertEqual(len(result.stderr.splitlines()), 1, result.stderr)
        self.assertIn("loopback only", result.stderr)

    def test_bad_scenario_file_is_one_line_exit_3(self):
        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
            handle.write('{"aws": {"accounts": [{"account_id": "111122223333", '
                         '"regions": ["eu-west-1"]}]}}')
        try:
            for args in (["sandbox", "--scenario", handle.name],
                         ["scan", "--sandbox", "--scenario", handle.name]):
                result = run_hsmproof(args)
                self.assertEqual(result.returncode, 3, result.stderr)
                self.assertEqual(len(result.stderr.splitlines()), 1, result.stderr)
                self.assertIn(f"scenario {handle.name}: aws.accounts[0].regions: unknown field; "
                              'did you mean "enabled_regions"?', result.stderr)
        finally:
            os.unlink(handle.name)

    def test_generate(self):
        spec = "accounts=2,regions=2,keys=5,subscriptions=1,vaults=2"
        printed = run_hsmproof(["sandbox", "--generate", spec])
        self.assertEqual(printed.returncode, 0, printed.stderr)
        scenario = json.loads(printed.stdout)
        self.assertEqual(len(scenario["aws"]["accounts"]), 2)
        self.assertEqual(len(scenario["aws"]["accounts"][0]["keys"]), 10)
        self.assertEqual(len(scenario["azure"]["subscriptions"][0]["vaults"]), 2)
        with tempfile.TemporaryDirectory() as directory:
            path = os.path.join(directory, "big.json")
            written = run_hsmproof(["sandbox", "--generate", spec, "--output", path])
            self.assertEqual(written.returncode, 0, written.stderr)
            with open(path) as handle:
                self.assertEqual(handle.read(), printed.stdout)
            # The generated file is a scenario the sandbox serves.
            with Sandbox("--scenario", path) as sandbox:
                self.assertEqual(sandbox.env["AWS_ACCESS_KEY_ID"],
                                 scenario["aws"]["accounts"][0]["access_key_id"])
        bad = run_hsmproof(["sandbox", "--generate", "accounts=x"])
        self.assertEqual(bad.returncode, 3)
        self.assertIn('"x" is not a whole number', bad.stderr)


@unittest.skipUnless(BIN and os.path.exists(BIN), "HSMPROOF_BIN does not name the hsmproof binary")
class ScanSandboxTest(unittest.TestCase):

    def test_scan_sandbox_reports_passing_and_failing_aws_locations(self):
        result = run_hsmproof(["scan", "--sandbox", "--format", "json"])
        self.assertEqual(result.returncode, 0, result.stderr)
        report = json.loads(result.stdout)
        verdicts = aws_verdicts(report)
        self.assertEqual(verdicts["aws-kms eu-west-1"], "pass", verdicts)
        self.assertEqual(verdicts["aws-kms us-east-1"], "fail")
        self.assertEqual(verdicts["aws-cloudhsm eu-west-1"], "pass")
        self.assertEqual(verdicts["aws-cloudhsm us-east-1"], "fail")

        text = run_hsmproof(["scan", "--sandbox"])
        self.assertEqual(text.returncode, 0, text.stderr)
        self.assertIn("eu-west-1", text.stdout)

    def test_the_printed_variables_are_all_a_scan_needs(self):
        with Sandbox() as sandbox:
            env = clean_environment()
            env.update(sandbox.env)
            served = run_hsmproof(["scan", "--format", "json"], env=env)
        self.assertEqual(served.returncode, 0, served.stderr)
        in_process = run_hsmproof(["scan", "--sandbox", "--format", "json"])
        self.assertEqual(aws_verdicts(json.loads(served.stdout)),
                         aws_verdicts(json.loads(in_process.stdout)))


@unittest.skipUnless(BIN and os.path.exists(BIN), "HSMPROOF_BIN does not name the hsmproof binary")
class FaultsThroughScanTest(unittest.TestCase):
    """Each fault on the passing KMS region: the scan must come out incomplete (exit 2), never
    pass; a transient fault is retried away."""

    def scan(self, sandbox, *args):
        env = clean_environment()
        env.update(sandbox.env)
        result = run_hsmproof(["scan", "--format", "json", "--region", "eu-west-1",
                               "--key", "alias/codesign", *args], env=env)
        return result.returncode, json.loads(result.stdout) if result.stdout else None, result

    def test_without_faults_the_signing_key_passes(self):
        with Sandbox() as sandbox:
            code, report, result = self.scan(sandbox)
        self.assertEqual(code, 0, result.stderr)
        self.assertEqual(report["verdict"], "pass")

    def test_each_fault_makes_the_location_incomplete(self):
        for kind in ("throttle", "server_error", "truncate", "reset", "deny"):
            with self.subTest(kind=kind):
                with Sandbox("--fault", f"{kind}:kms:*:eu-west-1") as sandbox:
                    code, report, result = self.scan(sandbox)
                self.assertEqual(code, 2, f"{kind}: {result.stderr}\n{result.stdout}")
                self.assertEqual(report["verdict"], "incomplete")
                verdicts = aws_verdicts(report)
                self.assertEqual(verdicts.get("aws-kms eu-west-1"), "incomplete", verdicts)
                self.assertNotIn("pass", [v for k, v in verdicts.items() if k.startswith("aws-kms")])

    def test_a_fault_elsewhere_leaves_the_verdict_alone(self):
        with Sandbox("--fault", "deny:kms:*:us-east-1") as sandbox:
            code, report, result = self.scan(sandbox)
        self.assertEqual(code, 0, result.stderr)

    def test_latency_slows_but_does_not_change_the_verdict(self):
        with Sandbox("--latency-ms", "150") as sandbox:
            started = time.monotonic()
            code, report, result = self.scan(sandbox, "--concurrency", "1")
            elapsed = time.monotonic() - started
        self.assertEqual(code, 0, result.stderr)
        self.assertGreater(elapsed, 0.15 * 5, "several calls, each delayed")

    def test_transient_throttling_is_retried_away(self):
        scenario = {
            "name": "transient",
            "aws": {"accounts": [{
                "account_id": "111122223333",
                "enabled_regions": ["us-east-1", "eu-west-1"],
                "keys": [{"region": "eu-west-1", "key_spec": "RSA_4096",
                          "aliases": ["alias/codesign"]}],
                "trails": [{"name": "audit", "home_region": "eu-west-1"}],
            }]},
            "faults": [{"kind": "throttle", "service": "kms", "count": 2},
                       {"kind": "server_error", "service": "cloudtrail", "count": 1}],
        }
        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
            json.dump(scenario, handle)
        try:
            with Sandbox("--scenario", handle.name) as sandbox:
                code, report, result = self.scan(sandbox)
            self.assertEqual(code, 0, result.stderr + result.stdout)
            self.assertEqual(report["verdict"], "pass")
        finally:
            os.unlink(handle.name)


if __name__ == "__main__":
    unittest.main()
