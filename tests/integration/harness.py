"""Shared machinery for the integration tests: moto in-process, seeding, running hsmproof.

The tests run the real binary (HSMPROOF_BIN) over real HTTP against moto, the AWS emulator in
the image's Python. moto serves every service on one endpoint and tells regions apart by the
SigV4 credential scope, so one server stands for a whole account.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.request
import uuid
from typing import Any, Iterable

import boto3
from botocore.config import Config

HSMPROOF_BIN = os.environ.get("HSMPROOF_BIN", "")
ACCOUNT = "123456789012"  # moto's account for any access key while authentication is off
TEST_ACCESS_KEY = "AKIAHSMPROOFTEST0001"
TEST_SECRET_KEY = "hsmproof-test-secret-do-not-print-0001"

KMS_CHECKS = (
    "aws_kms_cmk_origin",
    "aws_kms_cmk_asymmetric",
    "aws_kms_cmk_rsa_3072_4096",
    "aws_kms_cmk_usage",
    "aws_kms_sign_verify_key",
    "aws_cloudtrail_logging",
)
CLOUDHSM_CHECKS = ("aws_cloudhsm_active_cluster", "aws_cloudtrail_logging")

# What AWS itself returns from GetEventSelectors for a trail nobody customised. moto returns
# empty lists instead, which on AWS would mean "log no management events"; seeding the real
# default keeps the tests about AWS semantics, not about a moto quirk.
AWS_DEFAULT_EVENT_SELECTORS = [
    {
        "ReadWriteType": "All",
        "IncludeManagementEvents": True,
        "DataResources": [],
        "ExcludeManagementEventSources": [],
    }
]

EXIT_FOR_VERDICT = {"pass": 0, "fail": 1, "incomplete": 2}

# Scans against moto are fast; a hang is a bug worth a clear failure, not a stuck ctest.
SCAN_TIMEOUT_SECONDS = float(os.environ.get("HSMPROOF_SCAN_TIMEOUT", "300"))


def requires_binary(cls_or_fn):
    """Skips when HSMPROOF_BIN is unset (a plain `unittest` run outside ctest); never otherwise."""
    return unittest.skipUnless(
        HSMPROOF_BIN,
        "HSMPROOF_BIN is not set: run through ctest (integration_aws) or export "
        "HSMPROOF_BIN=/path/to/hsmproof",
    )(cls_or_fn)


def quiet_moto_logging() -> None:
    # werkzeug logs every request and flask every 500 traceback (moto's broken regions).
    for name in ("werkzeug", "moto", "flask.app", "moto.server"):
        logging.getLogger(name).setLevel(logging.CRITICAL)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def http_post(url: str, data: bytes = b"", timeout: float = 30) -> bytes:
    request = urllib.request.Request(url, data=data, method="POST")
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return response.read()


class MotoServer:
    """moto's ThreadedMotoServer on a free loopback port, in this process.

    In-process so tests can reach moto's backends directly (CloudHSM HSMs cannot be created
    through moto's API: CreateHsm answers 500).
    """

    def __init__(self) -> None:
        from moto.server import ThreadedMotoServer

        quiet_moto_logging()
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        self.url = ""

    def start(self) -> "MotoServer":
        self._server.start()
        host, port = self._server.get_host_and_port()
        self.url = f"http://{host}:{port}"
        return self

    def stop(self) -> None:
        self._server.stop()

    def reset(self) -> None:
        """Forgets every resource in every account and region."""
        http_post(f"{self.url}/moto-api/reset")


class MotoSubprocess:
    """moto_server in its own process, for settings moto reads process-wide (authentication)."""

    def __init__(self, extra_env: dict[str, str] | None = None) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._log = tempfile.TemporaryFile()
        env = dict(os.environ)
        env.update(extra_env or {})
        self._process = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )

    def start(self, timeout: float = 60) -> "MotoSubprocess":
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"moto_server exited early: {self.output()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return self
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError("moto_server did not start listening in time")

    def output(self) -> str:
        self._log.seek(0)
        return self._log.read().decode(errors="replace")[-4000:]

    def stop(self) -> None:
        if self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        self._log.close()


class Seeder:
    """Creates AWS resources in moto with boto3, the way a customer would."""

    def __init__(
        self,
        endpoint_url: str,
        access_key: str = TEST_ACCESS_KEY,
        secret_key: str = TEST_SECRET_KEY,
        session_token: str | None = None,
    ) -> None:
        self.endpoint_url = endpoint_url
        self._credentials = dict(
            aws_access_key_id=access_key,
            aws_secret_access_key=secret_key,
            aws_session_token=session_token,
        )
        self._clients: dict[tuple[str, str], Any] = {}
        self._buckets: set[str] = set()

    def client(self, service: str, region: str = "us-east-1"):
        key = (service, region)
        if key not in self._clients:
            self._clients[key] = boto3.client(
                service,
                region_name=region,
                endpoint_url=self.endpoint_url,
                config=Config(retries={"max_attempts": 2, "mode": "standard"}),
                **self._credentials,
            )
        return self._clients[key]

    # --- KMS -------------------------------------------------------------------------------

    def create_key(
        self,
        region: str,
        key_spec: str = "RSA_4096",
        key_usage: str = "SIGN_VERIFY",
        origin: str | None = None,
        alias: str | None = None,
    ) -> dict[str, Any]:
        """Returns the KeyMetadata (KeyId, Arn, ...)."""
        arguments: dict[str, Any] = {"KeySpec": key_spec, "KeyUsage": key_usage}
        if origin:
            arguments["Origin"] = origin
        metadata = self.client("kms", region).create_key(**arguments)["KeyMetadata"]
        if alias:
            self.client("kms", region).create_alias(AliasName=alias, TargetKeyId=metadata["KeyId"])
        return metadata

    def disable_key(self, region: str, key_id: str) -> None:
        self.client("kms", region).disable_key(KeyId=key_id)

    def schedule_key_deletion(self, region: str, key_id: str) -> None:
        self.client("kms", region).schedule_key_deletion(KeyId=key_id, PendingWindowInDays=7)

    # --- CloudTrail ------------------------------------------------------------------------

    def _bucket(self) -> str:
        name = "hsmproof-trail-logs"
        if name not in self._buckets:
            try:
                self.client("s3").create_bucket(Bucket=name)
            except self.client("s3").exceptions.BucketAlreadyOwnedByYou:
                pass
            self._buckets.add(name)
        return name

    def create_trail(
        self,
        region: str,
        name: str | None = None,
        multi_region: bool = False,
        logging_on: bool = True,
        event_selectors: list[dict[str, Any]] | None = None,
        advanced_event_selectors: list[dict[str, Any]] | None = None,
    ) -> dict[str, Any]:
        """A trail homed in `region`. Without selectors it gets AWS's default selector."""
        name = name or f"trail-{uuid.uuid4().hex[:10]}"
        cloudtrail = self.client("cloudtrail", region)
        trail = cloudtrail.create_trail(
            Name=name, S3BucketName=self._bucket(), IsMultiRegionTrail=multi_region
        )
        if advanced_event_selectors is not None:
            cloudtrail.put_event_selectors(
                TrailName=name, AdvancedEventSelectors=advanced_event_selectors
            )
        else:
            cloudtrail.put_event_selectors(
                TrailName=name,
                EventSelectors=event_selectors
                if event_selectors is not None
                else AWS_DEFAULT_EVENT_SELECTORS,
            )
        if logging_on:
            cloudtrail.start_logging(Name=name)
        return trail

    def stop_trail(self, region: str, name: str) -> None:
        self.client("cloudtrail", region).stop_logging(Name=name)

    # --- CloudHSM v2 -----------------------------------------------------------------------

    def create_cluster(
        self, region: str, hsm_states: Iterable[str] = ("ACTIVE",), mode: str | None = None
    ) -> str:
        """A cluster (moto makes it ACTIVE at once) with one HSM per given state; its id."""
        arguments: dict[str, Any] = {"HsmType": "hsm2m.medium", "SubnetIds": ["subnet-0a1b2c3d"]}
        if mode:
            arguments["Mode"] = mode
        cluster = self.client("cloudhsmv2", region).create_cluster(**arguments)["Cluster"]
        for state in hsm_states:
            add_hsm(region, cluster["ClusterId"], state)
        return cluster["ClusterId"]


def add_hsm(region: str, cluster_id: str, state: str = "ACTIVE", account: str = ACCOUNT) -> str:
    """Appends an HSM to a cluster through moto's backend (moto's CreateHsm answers 500).

    moto keeps a cluster's HSMs as the wire-shaped dicts DescribeClusters returns, so this
    appends exactly the `Hsm` structure of the CloudHSM v2 API.
    """
    from moto.cloudhsmv2.models import cloudhsmv2_backends

    cluster = cloudhsmv2_backends[account][region].clusters[cluster_id]
    hsm_id = f"hsm-{uuid.uuid4().hex[:11]}"
    cluster.hsms.append(
        {
            "AvailabilityZone": f"{region}a",
            "ClusterId": cluster_id,
            "SubnetId": "subnet-0a1b2c3d",
            "EniId": f"eni-{uuid.uuid4().hex[:17]}",
            "EniIp": "10.0.0.10",
            "HsmId": hsm_id,
            "HsmType": cluster.hsm_type,
            "State": state,
            "StateMessage": f"HSM is {state.lower()}.",
        }
    )
    return hsm_id


# --- running the binary --------------------------------------------------------------------


@dataclasses.dataclass
class ScanResult:
    args: list[str]
    returncode: int
    stdout: str
    stderr: str
    duration: float
    report: dict[str, Any] | None  # parsed stdout when --format json and stdout is JSON

    def describe(self) -> str:
        return (
            f"hsmproof {' '.join(self.args)} -> exit {self.returncode} in {self.duration:.1f}s\n"
            f"--- stderr ---\n{self.stderr[-3000:]}\n--- stdout ---\n{self.stdout[-6000:]}"
        )


class Sandbox:
    """A throw-away HOME so nothing from the machine's ~/.aws leaks into a scan."""

    def __init__(self) -> None:
        self.home = tempfile.mkdtemp(prefix="hsmproof-it-")

    def path(self, name: str) -> str:
        return os.path.join(self.home, name)

    def write(self, name: str, text: str, mode: int = 0o600) -> str:
        path = self.path(name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.chmod(path, mode)
        return path

    def cleanup(self) -> None:
        shutil.rmtree(self.home, ignore_errors=True)


def scan_env(
    sandbox: Sandbox,
    endpoint_url: str | None,
    credentials: bool = True,
    extra: dict[str, str] | None = None,
) -> dict[str, str]:
    """Only what the test sets, plus PATH and a private HOME."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": sandbox.home,
        "AWS_EC2_METADATA_DISABLED": "true",
        # Point the shared files into the sandbox even when a test doesn't write them.
        "AWS_CONFIG_FILE": sandbox.path(".aws/config"),
        "AWS_SHARED_CREDENTIALS_FILE": sandbox.path(".aws/credentials"),
    }
    if endpoint_url:
        env["AWS_ENDPOINT_URL"] = endpoint_url
    if credentials:
        env["AWS_ACCESS_KEY_ID"] = TEST_ACCESS_KEY
        env["AWS_SECRET_ACCESS_KEY"] = TEST_SECRET_KEY
    env.update(extra or {})
    return env


def run_hsmproof(
    args: list[str], env: dict[str, str], timeout: float = SCAN_TIMEOUT_SECONDS
) -> ScanResult:
    started = time.monotonic()
    completed = subprocess.run(
        [HSMPROOF_BIN, *args],
        env=env,
        capture_output=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )
    duration = time.monotonic() - started
    stdout = completed.stdout.decode("utf-8", errors="replace")
    stderr = completed.stderr.decode("utf-8", errors="replace")
    report = None
    if "json" in args and stdout.strip():
        try:
            report = json.loads(stdout)
        except json.JSONDecodeError:
            report = None
    return ScanResult(args, completed.returncode, stdout, stderr, duration, report)


def scan_args(
    regions: Iterable[str] = (),
    keys: Iterable[str] = (),
    fmt: str = "json",
    extra: Iterable[str] = (),
) -> list[str]:
    args = ["scan", "--aws", "--format", fmt]
    for region in regions:
        args += ["--region", region]
    for key in keys:
        args += ["--key", key]
    return args + list(extra)


# --- reading reports -----------------------------------------------------------------------


def locations(report: dict[str, Any], kind: str | None = None) -> list[dict[str, Any]]:
    return [loc for loc in report.get("locations", []) if kind is None or loc.get("kind") == kind]


def location_keys(report: dict[str, Any]) -> set[tuple[str, str]]:
    return {(loc["kind"], loc["region"]) for loc in report.get("locations", [])}


def location(report: dict[str, Any], kind: str, region: str) -> dict[str, Any]:
    found = [loc for loc in locations(report, kind) if loc.get("region") == region]
    if len(found) != 1:
        raise AssertionError(
            f"expected exactly one {kind} location in {region}, found {len(found)}; "
            f"locations: {sorted(location_keys(report))}"
        )
    return found[0]


def find_check(report: dict[str, Any], kind: str, region: str, check_id: str) -> dict[str, Any]:
    found = [c for c in location(report, kind, region)["checks"] if c.get("id") == check_id]
    if len(found) != 1:
        raise AssertionError(f"expected one check {check_id} in {kind} {region}, found {len(found)}")
    return found[0]


def check(report: dict[str, Any], kind: str, region: str, check_id: str) -> str:
    """The status of one check in one location."""
    return find_check(report, kind, region, check_id)["status"]


def check_statuses(report: dict[str, Any], kind: str, region: str) -> dict[str, str]:
    return {c["id"]: c["status"] for c in location(report, kind, region)["checks"]}


def resource_status(check_finding: dict[str, Any], resource_id: str) -> str | None:
    for resource in check_finding.get("resources", []):
        if resource.get("id") == resource_id:
            return resource.get("status")
    return None


def strip_generated_at(text: str) -> str:
    """The report minus its generation time, the one field allowed to change between runs."""
    return re.sub(r'"generated_at"\s*:\s*"[^"]*"', '"generated_at": ""', text)


def expected_location_verdict(statuses: Iterable[str]) -> str:
    statuses = list(statuses)
    if "fail" in statuses:
        return "fail"
    if "incomplete" in statuses:
        return "incomplete"
    return "pass"


class ScanTestCase(unittest.TestCase):
    """Assertions every scan must satisfy, whatever the scenario."""

    maxDiff = None
    secrets: tuple[str, ...] = (TEST_SECRET_KEY,)

    def assert_no_crash(self, result: ScanResult, allowed=(0, 1, 2)) -> None:
        self.assertGreaterEqual(
            result.returncode, 0, f"killed by signal {-result.returncode}\n{result.describe()}"
        )
        self.assertIn(result.returncode, allowed, result.describe())

    def assert_no_secrets(self, result: ScanResult, extra: Iterable[str] = ()) -> None:
        for secret in (*self.secrets, *extra):
            self.assertNotIn(secret, result.stdout, "a secret leaked to stdout")
            self.assertNotIn(secret, result.stderr, "a secret leaked to stderr")

    def assert_consistent(self, result: ScanResult) -> dict[str, Any]:
        """JSON parses, has the contract's fields, and its verdicts obey DESIGN.md's rules."""
        self.assert_no_crash(result)
        self.assert_no_secrets(result)
        report = result.report
        self.assertIsNotNone(report, f"stdout is not a JSON report\n{result.describe()}")
        assert report is not None
        for field in ("verdict", "verdict_reason", "baseline", "locations", "errors"):
            self.assertIn(field, report, f"report lacks '{field}'")
        self.assertIn(report["verdict"], EXIT_FOR_VERDICT)
        self.assertEqual(
            result.returncode,
            EXIT_FOR_VERDICT[report["verdict"]],
            f"exit code does not match verdict {report['verdict']}\n{result.describe()}",
        )
        for loc in report["locations"]:
            where = f"{loc.get('kind')} {loc.get('region')}"
            self.assertEqual(loc.get("provider"), "aws", where)
            self.assertIn(loc.get("kind"), ("aws-kms", "aws-cloudhsm"), where)
            self.assertEqual(loc.get("name"), "", where)
            self.assertIn("holds_requested_key", loc, where)
            ids = [c["id"] for c in loc["checks"]]
            expected_ids = KMS_CHECKS if loc["kind"] == "aws-kms" else CLOUDHSM_CHECKS
            self.assertEqual(sorted(ids), sorted(expected_ids), f"checks of {where}")
            for finding in loc["checks"]:
                self.assertIn(
                    finding["status"], ("pass", "fail", "incomplete", "not_applicable"), where
                )
                for field in ("title", "message", "resources", "warnings", "remediation"):
                    self.assertIn(field, finding, f"{finding['id']} in {where} lacks {field}")
                if finding["status"] == "fail":
                    self.assertTrue(
                        finding["remediation"], f"{finding['id']} fails in {where} with no fix"
                    )
            self.assertEqual(
                loc["verdict"],
                expected_location_verdict(c["status"] for c in loc["checks"]),
                f"location verdict of {where}",
            )
        return report

    def assert_location(
        self,
        report: dict[str, Any],
        kind: str,
        region: str,
        expected: dict[str, str],
        account: str = ACCOUNT,
    ) -> dict[str, Any]:
        """Every check's status in one location, and the location's verdict."""
        loc = location(report, kind, region)
        self.assertEqual(loc["account"], account)
        self.assertEqual(check_statuses(report, kind, region), expected, f"{kind} {region}")
        self.assertEqual(loc["verdict"], expected_location_verdict(expected.values()))
        return loc


def kms_statuses(
    origin="pass",
    asymmetric="pass",
    size="pass",
    usage="pass",
    sign_verify="pass",
    logging_status="pass",
) -> dict[str, str]:
    return {
        "aws_kms_cmk_origin": origin,
        "aws_kms_cmk_asymmetric": asymmetric,
        "aws_kms_cmk_rsa_3072_4096": size,
        "aws_kms_cmk_usage": usage,
        "aws_kms_sign_verify_key": sign_verify,
        "aws_cloudtrail_logging": logging_status,
    }


def cloudhsm_statuses(cluster="pass", logging_status="pass") -> dict[str, str]:
    return {"aws_cloudhsm_active_cluster": cluster, "aws_cloudtrail_logging": logging_status}
