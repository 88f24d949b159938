"""The sandbox's AWS endpoints, proven by third-party clients.

`hsmproof sandbox --scenario scenario.json` runs as a subprocess; then
- the AWS CLI v2 (Debian's /usr/bin/aws, --endpoint-url and --ca-bundle) and v1 (`python3 -m
  awscli`, AWS_ENDPOINT_URL) read keys, aliases, public keys, signatures, trails, clusters,
  regions, accounts and the caller, across page boundaries;
- the official AWS SDK for JavaScript v3 clients (read_state.mjs, auth_errors.mjs) read the same
  state through their paginators and see the refusals AWS gives;
- boto3 sends forged requests;
- moto, loaded with the same scenario, must give `hsmproof scan --aws` the same report.

Signatures are checked with the openssl command line against the public keys the clients got.
"""

from __future__ import annotations

import base64
import copy
import json
import os
import re
import select
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest
from pathlib import Path

HERE = Path(__file__).resolve().parent
SCENARIO_FILE = HERE / "scenario.json"
NODE_MODULES = HERE.parent / "node_modules"
BIN = os.environ.get("HSMPROOF_BIN", "")
AWS_CLI_V2 = "/usr/bin/aws"
CLI_TIMEOUT = 120

SCENARIO = json.loads(SCENARIO_FILE.read_text())
MANAGEMENT = SCENARIO["aws"]["accounts"][0]
MEMBER = SCENARIO["aws"]["accounts"][1]
ACCOUNT = MANAGEMENT["account_id"]

# What AWS returns from GetEventSelectors for a trail nobody customised.
AWS_DEFAULT_EVENT_SELECTORS = [
    {
        "ReadWriteType": "All",
        "IncludeManagementEvents": True,
        "DataResources": [],
        "ExcludeManagementEventSources": [],
    }
]


def require_binary() -> str:
    if not BIN or not os.access(BIN, os.X_OK):
        raise RuntimeError(
            "HSMPROOF_BIN must name the hsmproof binary (ctest sets it: ctest -R sandbox_aws)")
    return BIN


def keys_in(region: str, account: dict = MANAGEMENT) -> list[dict]:
    return [key for key in account.get("keys", []) if key["region"] == region]


def key_arn(key: dict, account: dict = MANAGEMENT) -> str:
    return f"arn:aws:kms:{key['region']}:{account['account_id']}:key/{key['key_id']}"


def trail_arn(trail: dict, account: dict = MANAGEMENT) -> str:
    return f"arn:aws:cloudtrail:{trail['home_region']}:{account['account_id']}:trail/{trail['name']}"


def trails_visible_in(region: str) -> set[str]:
    return {trail["name"] for trail in MANAGEMENT["trails"]
            if trail["home_region"] == region or trail.get("multi_region", False)}


def clusters_in(region: str) -> list[dict]:
    return [c for c in MANAGEMENT.get("clusters", []) if c["region"] == region]


def clean_environment() -> dict[str, str]:
    """The caller's environment without cloud settings or the user's AWS files."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("AWS_", "AZURE_")) and k not in ("SSL_CERT_FILE",
                                                                 "NODE_EXTRA_CA_CERTS")}
    home = tempfile.mkdtemp(prefix="hsmproof-aws-fidelity-home-")
    env["HOME"] = home
    env["AWS_CONFIG_FILE"] = os.path.join(home, "no-config")
    env["AWS_SHARED_CREDENTIALS_FILE"] = os.path.join(home, "no-credentials")
    env["AWS_EC2_METADATA_DISABLED"] = "true"
    env["AWS_PAGER"] = ""
    return env


class SandboxProcess:
    """`hsmproof sandbox` as a subprocess; `exports` is what it printed for clients."""

    def __init__(self, scenario: Path):
        self.process = subprocess.Popen(
            [require_binary(), "sandbox", "--scenario", str(scenario), "--listen", "127.0.0.1:0"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=clean_environment())
        self.exports: dict[str, str] = {}
        deadline = time.monotonic() + 60
        buffer = b""
        # The export lines come first, SSL_CERT_FILE last; then it serves until SIGTERM.
        while "SSL_CERT_FILE" not in self.exports:
            remaining = deadline - time.monotonic()
            ready, _, _ = select.select([self.process.stdout], [], [], max(0.0, remaining))
            if not ready or self.process.poll() is not None and not ready:
                self.stop()
                raise RuntimeError("the sandbox printed no export lines: " + self.stderr_text())
            chunk = os.read(self.process.stdout.fileno(), 4096)
            if not chunk:
                self.stop()
                raise RuntimeError("the sandbox exited: " + self.stderr_text())
            buffer += chunk
            while b"\n" in buffer:
                line, buffer = buffer.split(b"\n", 1)
                text = line.decode()
                if text.startswith("export "):
                    name, _, value = text[len("export "):].partition("=")
                    self.exports[name] = shlex.split(value)[0] if value else ""
        self.endpoint = self.exports["AWS_ENDPOINT_URL"]
        self.ca_bundle = self.exports["AWS_CA_BUNDLE"]

    def stderr_text(self) -> str:
        if self.process.poll() is None:
            return ""
        return self.process.stderr.read().decode(errors="replace")[-2000:]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        for stream in (self.process.stdout, self.process.stderr):
            stream.close()

    def client_environment(self, access_key: str = MANAGEMENT["access_key_id"],
                           secret: str = MANAGEMENT["secret_access_key"],
                           region: str = "us-east-1") -> dict[str, str]:
        env = clean_environment()
        env.update({
            "AWS_ACCESS_KEY_ID": access_key,
            "AWS_SECRET_ACCESS_KEY": secret,
            "AWS_DEFAULT_REGION": region,
            "AWS_REGION": region,
            "AWS_CA_BUNDLE": self.ca_bundle,
            "NODE_EXTRA_CA_CERTS": self.ca_bundle,
        })
        return env


class SandboxTestCase(unittest.TestCase):
    sandbox: SandboxProcess

    @classmethod
    def setUpClass(cls):
        cls.sandbox = SandboxProcess(SCENARIO_FILE)

    @classmethod
    def tearDownClass(cls):
        cls.sandbox.stop()

    def cli(self, *args: str, version: int = 2, env: dict | None = None,
            expect_ok: bool = True, region: str = "us-east-1") -> subprocess.CompletedProcess:
        environment = env if env is not None else self.sandbox.client_environment(region=region)
        if version == 2:
            command = [AWS_CLI_V2, "--endpoint-url", self.sandbox.endpoint, "--ca-bundle",
                       self.sandbox.ca_bundle, "--region", region, "--output", "json", *args]
        else:
            environment = dict(environment)
            environment["AWS_ENDPOINT_URL"] = self.sandbox.endpoint
            command = [sys.executable, "-m", "awscli", "--region", region, "--output", "json",
                       *args]
        result = subprocess.run(command, env=environment, capture_output=True, text=True,
                                timeout=CLI_TIMEOUT)
        if expect_ok:
            self.assertEqual(result.returncode, 0,
                             f"{' '.join(args)} failed:\n{result.stderr[-3000:]}")
        return result

    def cli_json(self, *args: str, **kwargs) -> dict:
        return json.loads(self.cli(*args, **kwargs).stdout)


def openssl(*args: str, data: bytes | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(["openssl", *args], input=data, capture_output=True, timeout=60)


def verify_with_openssl(test: unittest.TestCase, public_key_der: bytes, algorithm: str,
                        message: bytes, signature: bytes) -> None:
    """Checks a KMS signature over `message` with the openssl command line."""
    with tempfile.TemporaryDirectory() as folder:
        paths = {name: os.path.join(folder, name) for name in ("key.der", "key.pem", "msg", "sig")}
        Path(paths["key.der"]).write_bytes(public_key_der)
        Path(paths["msg"]).write_bytes(message)
        Path(paths["sig"]).write_bytes(signature)
        converted = openssl("pkey", "-pubin", "-inform", "DER", "-in", paths["key.der"], "-out",
                            paths["key.pem"])
        test.assertEqual(converted.returncode, 0, converted.stderr.decode())
        digest = "-sha" + re.search(r"SHA_(\d+)", algorithm).group(1)
        options = []
        if algorithm.startswith("RSASSA_PSS"):
            options = ["-sigopt", "rsa_padding_mode:pss", "-sigopt", "rsa_pss_saltlen:digest"]
        checked = openssl("dgst", digest, *options, "-verify", paths["key.pem"], "-signature",
                          paths["sig"], paths["msg"])
        test.assertEqual(checked.returncode, 0,
                         f"{algorithm}: {checked.stdout.decode()} {checked.stderr.decode()}")
        # The same signature must not verify another message.
        Path(paths["msg"]).write_bytes(message + b"!")
        tampered = openssl("dgst", digest, *options, "-verify", paths["key.pem"], "-signature",
                           paths["sig"], paths["msg"])
        test.assertNotEqual(tampered.returncode, 0, f"{algorithm} verified a changed message")


def public_key_text(public_key_der: bytes) -> str:
    with tempfile.NamedTemporaryFile(suffix=".der") as file:
        file.write(public_key_der)
        file.flush()
        return openssl("pkey", "-pubin", "-inform", "DER", "-in", file.name, "-text",
                       "-noout").stdout.decode()


# ---------------------------------------------------------------------------------------------
# AWS CLI v2 (Debian) and v1


class AwsCliTest(SandboxTestCase):

    def test_list_keys_across_pages(self):
        for region in MANAGEMENT["enabled_regions"]:
            result = self.cli("kms", "list-keys", "--page-size", "2", "--debug", region=region)
            listed = json.loads(result.stdout)["Keys"]
            expected = keys_in(region)
            self.assertEqual(sorted(k["KeyId"] for k in listed),
                             sorted(k["key_id"] for k in expected), region)
            for entry in listed:
                key = next(k for k in expected if k["key_id"] == entry["KeyId"])
                self.assertEqual(entry["KeyArn"], key_arn(key))
            # The CLI followed NextMarker: one request per page of two.
            requests = result.stderr.count("TrentService.ListKeys")
            self.assertGreaterEqual(requests, max(1, (len(expected) + 1) // 2), region)

    def test_cli_level_paging_with_starting_token(self):
        first = self.cli_json("kms", "list-keys", "--page-size", "2", "--max-items", "3",
                              region="eu-west-1")
        self.assertEqual(len(first["Keys"]), 3)
        self.assertIn("NextToken", first)
        rest = self.cli_json("kms", "list-keys", "--page-size", "2", "--starting-token",
                             first["NextToken"], region="eu-west-1")
        ids = [k["KeyId"] for k in first["Keys"] + rest["Keys"]]
        self.assertEqual(sorted(ids), sorted(k["key_id"] for k in keys_in("eu-west-1")))

    def test_describe_key_by_id_arn_and_alias(self):
        for key in MANAGEMENT["keys"]:
            metadata = self.cli_json("kms", "describe-key", "--key-id", key["key_id"],
                                     region=key["region"])["KeyMetadata"]
            self.assertEqual(metadata["KeyId"], key["key_id"])
            self.assertEqual(metadata["Arn"], key_arn(key))
            self.assertEqual(metadata["AWSAccountId"], ACCOUNT)
            self.assertEqual(metadata["KeySpec"], key.get("key_spec", "RSA_4096"))
            self.assertEqual(metadata["KeyState"], key.get("key_state", "Enabled"))
            self.assertEqual(metadata["Enabled"], key.get("key_state", "Enabled") == "Enabled")
            self.assertEqual(metadata["Origin"], key.get("origin", "AWS_KMS"))
            self.assertEqual(metadata["Description"], key.get("description", ""))
            if "key_usage" in key:
                self.assertEqual(metadata["KeyUsage"], key["key_usage"])
        codesign = next(k for k in MANAGEMENT["keys"] if "alias/codesign" in k.get("aliases", []))
        for identifier in ("alias/codesign", key_arn(codesign),
                           f"arn:aws:kms:eu-west-1:{ACCOUNT}:alias/codesign"):
            metadata = self.cli_json("kms", "describe-key", "--key-id", identifier,
                                     region="eu-west-1")["KeyMetadata"]
            self.assertEqual(metadata["KeyId"], codesign["key_id"], identifier)

    def test_describe_key_not_found_is_a_service_error(self):
        result = self.cli("kms", "describe-key", "--key-id", "alias/no-such-key",
                          region="eu-west-1", expect_ok=False)
        self.assertEqual(result.returncode, 254)
        self.assertIn("NotFoundException", result.stderr)

    def test_list_aliases_across_pages(self):
        for region in MANAGEMENT["enabled_regions"]:
            result = self.cli("kms", "list-aliases", "--page-size", "4", "--debug", region=region)
            aliases = {a["AliasName"]: a for a in json.loads(result.stdout)["Aliases"]}
            for key in keys_in(region):
                for alias in key.get("aliases", []):
                    self.assertEqual(aliases[alias]["TargetKeyId"], key["key_id"])
                    self.assertEqual(aliases[alias]["AliasArn"],
                                     f"arn:aws:kms:{region}:{ACCOUNT}:{alias}")
            # Like a real account, AWS managed aliases that name no key yet.
            self.assertIn("alias/aws/ebs", aliases)
            self.assertNotIn("TargetKeyId", aliases["alias/aws/ebs"])
            self.assertGreater(result.stderr.count("TrentService.ListAliases"), 1)

    def test_get_public_key_and_sign_verify_with_openssl(self):
        message = b"hsmproof evidence, signed through the AWS CLI"
        cases = {"alias/codesign": ("eu-west-1", "4096 bit"),
                 "alias/ecdsa": ("us-east-1", "384 bit"),
                 "0a000009-0000-4000-8000-000000000009": ("us-east-1", "256 bit")}
        with tempfile.TemporaryDirectory() as folder:
            message_file = os.path.join(folder, "message")
            Path(message_file).write_bytes(message)
            for key_id, (region, size) in cases.items():
                answer = self.cli_json("kms", "get-public-key", "--key-id", key_id, region=region)
                self.assertTrue(answer["KeyId"].startswith(f"arn:aws:kms:{region}:{ACCOUNT}:key/"))
                der = base64.b64decode(answer["PublicKey"])
                self.assertIn(size, public_key_text(der), key_id)
                for algorithm in answer["SigningAlgorithms"]:
                    signed = self.cli_json("kms", "sign", "--key-id", key_id, "--message",
                                           f"fileb://{message_file}", "--message-type", "RAW",
                                           "--signing-algorithm", algorithm, region=region)
                    self.assertEqual(signed["KeyId"], answer["KeyId"])
                    self.assertEqual(signed["SigningAlgorithm"], algorithm)
                    verify_with_openssl(self, der, algorithm, message,
                                        base64.b64decode(signed["Signature"]))

    def test_get_public_key_of_a_symmetric_key_is_unsupported(self):
        result = self.cli("kms", "get-public-key", "--key-id", "alias/data", expect_ok=False)
        self.assertEqual(result.returncode, 254)
        self.assertIn("UnsupportedOperationException", result.stderr)
        result = self.cli("kms", "get-public-key", "--key-id",
                          "0a000004-0000-4000-8000-000000000004", region="eu-west-1",
                          expect_ok=False)
        self.assertIn("DisabledException", result.stderr)

    def test_cloudtrail_describe_trails_with_shadow_trails(self):
        for region in MANAGEMENT["enabled_regions"]:
            trails = self.cli_json("cloudtrail", "describe-trails", "--include-shadow-trails",
                                   region=region)["trailList"]
            self.assertEqual({t["Name"] for t in trails}, trails_visible_in(region), region)
            for listed in trails:
                spec = next(t for t in MANAGEMENT["trails"] if t["name"] == listed["Name"])
                self.assertEqual(listed["HomeRegion"], spec["home_region"])
                self.assertEqual(listed["TrailARN"], trail_arn(spec))
                self.assertEqual(listed["IsMultiRegionTrail"], spec.get("multi_region", False))
                self.assertEqual(listed["S3BucketName"], spec["s3_bucket"])
            home_only = self.cli_json("cloudtrail", "describe-trails",
                                      "--no-include-shadow-trails", region=region)["trailList"]
            self.assertEqual({t["Name"] for t in home_only},
                             {t["name"] for t in MANAGEMENT["trails"] if t["home_region"] == region})

    def test_cloudtrail_status_and_selectors(self):
        for spec in MANAGEMENT["trails"]:
            status = self.cli_json("cloudtrail", "get-trail-status", "--name", trail_arn(spec),
                                   region=spec["home_region"])
            self.assertEqual(status["IsLogging"], spec.get("logging", True), spec["name"])
            by_name = self.cli_json("cloudtrail", "get-trail-status", "--name", spec["name"],
                                    region=spec["home_region"])
            self.assertEqual(by_name["IsLogging"], status["IsLogging"])
            selectors = self.cli_json("cloudtrail", "get-event-selectors", "--trail-name",
                                      spec["name"], region=spec["home_region"])
            self.assertEqual(selectors["TrailARN"], trail_arn(spec))
            if "advanced_event_selectors" in spec:
                self.assertEqual(selectors["AdvancedEventSelectors"],
                                 spec["advanced_event_selectors"])
                self.assertNotIn("EventSelectors", selectors)
            else:
                self.assertEqual(selectors["EventSelectors"],
                                 spec.get("event_selectors", AWS_DEFAULT_EVENT_SELECTORS))
        # A shadow trail answers by ARN outside its home region, not by name.
        multi = next(t for t in MANAGEMENT["trails"] if t.get("multi_region"))
        other = next(r for r in MANAGEMENT["enabled_regions"] if r != multi["home_region"])
        self.assertTrue(self.cli_json("cloudtrail", "get-trail-status", "--name",
                                      trail_arn(multi), region=other)["IsLogging"])
        result = self.cli("cloudtrail", "get-trail-status", "--name", multi["name"],
                          region=other, expect_ok=False)
        self.assertEqual(result.returncode, 254)
        self.assertIn("TrailNotFoundException", result.stderr)

    def test_cloudhsm_describe_clusters_across_pages(self):
        for region in MANAGEMENT["enabled_regions"]:
            result = self.cli("cloudhsmv2", "describe-clusters", "--page-size", "1", "--debug",
                              region=region)
            clusters = json.loads(result.stdout)["Clusters"]
            expected = clusters_in(region)
            self.assertEqual([c["ClusterId"] for c in clusters],
                             sorted(c["cluster_id"] for c in expected), region)
            for cluster in clusters:
                spec = next(c for c in expected if c["cluster_id"] == cluster["ClusterId"])
                self.assertEqual(cluster["State"], spec.get("state", "ACTIVE"))
                self.assertEqual(cluster["HsmType"], spec.get("hsm_type", "hsm2m.medium"))
                self.assertEqual([(h["HsmId"], h["State"], h["AvailabilityZone"])
                                  for h in cluster["Hsms"]],
                                 [(h["hsm_id"], h["state"], h["availability_zone"])
                                  for h in spec["hsms"]])
            if len(expected) > 1:
                self.assertGreaterEqual(result.stderr.count("BaldrApiService.DescribeClusters"),
                                        len(expected))
        filtered = self.cli_json("cloudhsmv2", "describe-clusters", "--filters",
                                 "states=UNINITIALIZED", region="eu-west-1")["Clusters"]
        self.assertEqual([c["ClusterId"] for c in filtered], ["cluster-ccccccccccc"])

    def test_sts_get_caller_identity(self):
        identity = self.cli_json("sts", "get-caller-identity")
        self.assertEqual(identity["Account"], ACCOUNT)
        self.assertTrue(identity["Arn"].startswith(f"arn:aws:iam::{ACCOUNT}:"))

    def test_sts_assume_role_into_the_member_account(self):
        role = f"arn:aws:iam::{MEMBER['account_id']}:role/hsmproof-reader"
        assumed = self.cli_json("sts", "assume-role", "--role-arn", role, "--role-session-name",
                                "cli-fidelity", "--external-id", "hsmproof-ca-0001")
        credentials = assumed["Credentials"]
        self.assertTrue(credentials["AccessKeyId"].startswith("ASIA"))
        self.assertEqual(assumed["AssumedRoleUser"]["Arn"],
                         f"arn:aws:sts::{MEMBER['account_id']}:assumed-role/hsmproof-reader/cli-fidelity")
        env = self.sandbox.client_environment(credentials["AccessKeyId"],
                                              credentials["SecretAccessKey"])
        env["AWS_SESSION_TOKEN"] = credentials["SessionToken"]
        identity = self.cli_json("sts", "get-caller-identity", env=env)
        self.assertEqual(identity["Account"], MEMBER["account_id"])
        keys = self.cli_json("kms", "list-keys", env=env)["Keys"]
        self.assertEqual([k["KeyArn"] for k in keys],
                         [key_arn(k, MEMBER) for k in keys_in("us-east-1", MEMBER)])
        # The session key without its token is refused.
        del env["AWS_SESSION_TOKEN"]
        result = self.cli("kms", "list-keys", env=env, expect_ok=False)
        self.assertEqual(result.returncode, 254)
        self.assertIn("UnrecognizedClientException", result.stderr)

    def test_ec2_describe_regions(self):
        regions = self.cli_json("ec2", "describe-regions")["Regions"]
        self.assertEqual(sorted(r["RegionName"] for r in regions),
                         sorted(MANAGEMENT["enabled_regions"]))
        for region in regions:
            self.assertEqual(region["OptInStatus"], "opt-in-not-required")
            self.assertEqual(region["Endpoint"], f"ec2.{region['RegionName']}.amazonaws.com")
        everything = self.cli_json("ec2", "describe-regions", "--all-regions")["Regions"]
        status = {r["RegionName"]: r["OptInStatus"] for r in everything}
        for disabled in MANAGEMENT["disabled_regions"]:
            self.assertEqual(status[disabled], "not-opted-in")

    def test_organizations_list_accounts_across_pages(self):
        result = self.cli("organizations", "list-accounts", "--page-size", "1", "--debug")
        accounts = json.loads(result.stdout)["Accounts"]
        self.assertEqual([a["Id"] for a in accounts],
                         [a["account_id"] for a in SCENARIO["aws"]["accounts"]])
        self.assertEqual([a["Name"] for a in accounts],
                         [a["name"] for a in SCENARIO["aws"]["accounts"]])
        self.assertGreaterEqual(result.stderr.count("AWSOrganizationsV20161128.ListAccounts"), 2)

    def test_wrong_secret_is_refused(self):
        wrong = self.sandbox.client_environment(secret=MANAGEMENT["secret_access_key"][:-1] + "X")
        for args, code in ((("kms", "list-keys"), "InvalidSignatureException"),
                           (("cloudtrail", "describe-trails"), "InvalidSignatureException"),
                           (("cloudhsmv2", "describe-clusters"), "InvalidSignatureException"),
                           (("sts", "get-caller-identity"), "SignatureDoesNotMatch"),
                           (("ec2", "describe-regions"), "SignatureDoesNotMatch")):
            result = self.cli(*args, env=wrong, expect_ok=False)
            self.assertEqual(result.returncode, 254, args)
            self.assertIn(f"({code})", result.stderr, args)
            self.assertNotIn(MANAGEMENT["secret_access_key"], result.stderr)

    def test_unknown_key_and_disabled_region_are_refused(self):
        stranger = self.sandbox.client_environment(access_key="AKIAUNKNOWNKEY000000")
        result = self.cli("kms", "list-keys", env=stranger, expect_ok=False)
        self.assertEqual(result.returncode, 254)
        self.assertIn("(UnrecognizedClientException)", result.stderr)
        result = self.cli("sts", "get-caller-identity", env=stranger, expect_ok=False)
        self.assertIn("(InvalidClientTokenId)", result.stderr)
        result = self.cli("kms", "list-keys", region=MANAGEMENT["disabled_regions"][0],
                          expect_ok=False)
        self.assertEqual(result.returncode, 254)
        self.assertIn("(UnrecognizedClientException)", result.stderr)


class AwsCliV1Test(SandboxTestCase):
    """CLI v1 reaches the sandbox through AWS_ENDPOINT_URL, as a user's environment would."""

    def test_reads_keys_trails_and_identity(self):
        keys = self.cli_json("kms", "list-keys", "--page-size", "1", version=1,
                             region="eu-west-1")["Keys"]
        self.assertEqual(sorted(k["KeyId"] for k in keys),
                         sorted(k["key_id"] for k in keys_in("eu-west-1")))
        selectors = self.cli_json("cloudtrail", "get-event-selectors", "--trail-name",
                                  "org-audit", version=1)
        self.assertEqual(selectors["AdvancedEventSelectors"],
                         MANAGEMENT["trails"][0]["advanced_event_selectors"])
        clusters = self.cli_json("cloudhsmv2", "describe-clusters", "--page-size", "2",
                                 version=1, region="eu-west-1")["Clusters"]
        self.assertEqual(len(clusters), len(clusters_in("eu-west-1")))
        self.assertEqual({c["ClusterId"]: c["Mode"] for c in clusters},
                         {c["cluster_id"]: c["mode"] for c in clusters_in("eu-west-1")})
        identity = self.cli_json("sts", "get-caller-identity", version=1)
        self.assertEqual(identity["Account"], ACCOUNT)

    def test_wrong_secret_is_refused(self):
        wrong = self.sandbox.client_environment(secret="not-the-secret-not-the-secret-00000000")
        result = self.cli("kms", "list-keys", version=1, env=wrong, expect_ok=False)
        self.assertEqual(result.returncode, 255)  # v1's exit code for a service error
        self.assertIn("(InvalidSignatureException)", result.stderr)


# ---------------------------------------------------------------------------------------------
# boto3: forged requests


class ForgedSignatureTest(SandboxTestCase):

    def client(self, service: str, region: str = "us-east-1"):
        import boto3
        from botocore.config import Config

        return boto3.client(
            service, region_name=region, endpoint_url=self.sandbox.endpoint,
            verify=self.sandbox.ca_bundle,
            aws_access_key_id=MANAGEMENT["access_key_id"],
            aws_secret_access_key=MANAGEMENT["secret_access_key"],
            config=Config(retries={"max_attempts": 1, "mode": "standard"}))

    @staticmethod
    def forge(client, what: str) -> None:
        def tamper(request, **_):
            if what == "signature":
                value = request.headers["Authorization"]
                if isinstance(value, bytes):
                    value = value.decode()
                request.headers["Authorization"] = value[:-1] + ("1" if value[-1] == "0" else "0")
            else:
                # A body changed after signing; Content-Length is not signed, so it follows.
                body = request.body or b""
                if isinstance(body, str):
                    body = body.encode()
                request.body = body + b" "
                request.headers["Content-Length"] = str(len(request.body))
        client.meta.events.register("before-send", tamper)

    def test_forged_signature_and_body_are_refused(self):
        from botocore.exceptions import ClientError

        for service, call, code, status in (
                ("kms", lambda c: c.list_keys(), "InvalidSignatureException", 400),
                ("cloudtrail", lambda c: c.describe_trails(), "InvalidSignatureException", 400),
                ("sts", lambda c: c.get_caller_identity(), "SignatureDoesNotMatch", 403)):
            for what in ("signature", "body"):
                client = self.client(service)
                self.forge(client, what)
                with self.assertRaises(ClientError, msg=f"{service} {what}") as caught:
                    call(client)
                self.assertEqual(caught.exception.response["Error"]["Code"], code)
                self.assertEqual(caught.exception.response["ResponseMetadata"]["HTTPStatusCode"],
                                 status)
                self.assertTrue(caught.exception.response["ResponseMetadata"].get("RequestId"))
            # Untouched, the same client answers.
            call(self.client(service))


# ---------------------------------------------------------------------------------------------
# AWS SDK for JavaScript v3


@unittest.skipUnless(NODE_MODULES.is_dir(),
                     f"{NODE_MODULES} is missing: run `npm ci` in {NODE_MODULES.parent}")
class AwsSdkJsTest(SandboxTestCase):

    def node(self, script: str, extra: dict[str, str]) -> object:
        env = self.sandbox.client_environment()
        env["SANDBOX_ENDPOINT"] = self.sandbox.endpoint
        env.update(extra)
        result = subprocess.run(["node", "--no-warnings", str(HERE / script)], env=env,
                                capture_output=True, text=True, timeout=300, cwd=HERE)
        self.assertEqual(result.returncode, 0, result.stderr[-3000:])
        return json.loads(result.stdout)

    def test_sdk_clients_read_the_scenario_through_their_paginators(self):
        regions = MANAGEMENT["enabled_regions"]
        state = self.node("read_state.mjs", {
            "REGIONS": ",".join(regions),
            "SIGN_REGION": "eu-west-1",
            "SIGN_KEY": "alias/codesign",
            "MEMBER_ROLE_ARN": f"arn:aws:iam::{MEMBER['account_id']}:role/sdk-reader",
            "MEMBER_REGION": "us-east-1",
        })
        for region in regions:
            seen = state["regions"][region]
            expected = keys_in(region)
            self.assertEqual(sorted(k["KeyId"] for k in seen["keys"]),
                             sorted(k["key_id"] for k in expected), region)
            self.assertEqual(seen["keyPages"], max(1, -(-len(expected) // 2)), region)
            for key in expected:
                metadata = seen["metadata"][key["key_id"]]
                self.assertEqual(metadata["Arn"], key_arn(key))
                self.assertEqual(metadata["KeySpec"], key["key_spec"])
                self.assertEqual(metadata["KeyState"], key.get("key_state", "Enabled"))
                self.assertEqual(metadata["Origin"], key.get("origin", "AWS_KMS"))
                self.assertEqual(metadata["KeyManager"], "CUSTOMER")
                self.assertEqual(metadata["Description"], key["description"])
                self.assertIsInstance(metadata["CreationDate"], (int, float))
            aliases = {a["AliasName"]: a for a in seen["aliases"]}
            for key in expected:
                for alias in key.get("aliases", []):
                    self.assertEqual(aliases[alias]["TargetKeyId"], key["key_id"])
            self.assertNotIn("TargetKeyId", aliases["alias/aws/s3"])

            self.assertEqual({t["Name"] for t in seen["trails"]}, trails_visible_in(region))
            for trail in seen["trails"]:
                spec = next(t for t in MANAGEMENT["trails"] if t["name"] == trail["Name"])
                self.assertEqual(trail["TrailARN"], trail_arn(spec))
                self.assertEqual(trail["HomeRegion"], spec["home_region"])
                self.assertEqual(trail["IsLogging"], spec.get("logging", True))
                if "advanced_event_selectors" in spec:
                    self.assertEqual(trail["AdvancedEventSelectors"],
                                     spec["advanced_event_selectors"])
                else:
                    self.assertEqual(trail["EventSelectors"],
                                     spec.get("event_selectors", AWS_DEFAULT_EVENT_SELECTORS))

            clusters = clusters_in(region)
            self.assertEqual([c["ClusterId"] for c in seen["clusters"]],
                             sorted(c["cluster_id"] for c in clusters))
            self.assertEqual(seen["clusterPages"], max(1, len(clusters)), region)
            for cluster in seen["clusters"]:
                spec = next(c for c in clusters if c["cluster_id"] == cluster["ClusterId"])
                self.assertEqual(cluster["State"], spec["state"])
                self.assertTrue(cluster["CreateTimestampIsDate"])
                self.assertEqual([h["HsmId"] for h in cluster["Hsms"]],
                                 [h["hsm_id"] for h in spec["hsms"]])

        self.assertEqual(state["identity"]["Account"], ACCOUNT)
        self.assertEqual(state["member"]["Account"], MEMBER["account_id"])
        self.assertTrue(state["member"]["ExpirationIsDate"])
        self.assertEqual(state["member"]["keys"],
                         [key_arn(k, MEMBER) for k in keys_in("us-east-1", MEMBER)])

        signing = state["signing"]
        self.assertEqual(signing["keySpec"], "RSA_4096")
        self.assertEqual(len(signing["signatures"]), 6)
        der = base64.b64decode(signing["publicKey"])
        message = base64.b64decode(signing["message"])
        for algorithm, signature in signing["signatures"].items():
            verify_with_openssl(self, der, algorithm, message, base64.b64decode(signature))

    def test_sdk_clients_see_the_real_refusals(self):
        results = {r["label"]: r for r in self.node("auth_errors.mjs", {
            "REGION": "eu-west-1",
            "DISABLED_REGION": MANAGEMENT["disabled_regions"][0],
        })}
        self.assertTrue(results["kms ok"]["ok"])
        expected = {
            "kms wrong secret": "InvalidSignatureException",
            "kms unknown key": "UnrecognizedClientException",
            "kms forged": "InvalidSignatureException",
            "cloudtrail wrong secret": "InvalidSignatureException",
            "cloudtrail forged": "InvalidSignatureException",
            "cloudhsm wrong secret": "InvalidSignatureException",
            "cloudhsm unknown key": "UnrecognizedClientException",
            "kms disabled region": "UnrecognizedClientException",
        }
        for label, name in expected.items():
            self.assertFalse(results[label]["ok"], label)
            self.assertEqual(results[label]["name"], name, label)
            self.assertEqual(results[label]["status"], 400, label)
            self.assertTrue(results[label]["requestId"], label)


# ---------------------------------------------------------------------------------------------
# moto parity: the same scenario in moto and in the sandbox gives hsmproof the same report


def seed_moto(endpoint: str, account: dict) -> dict[str, str]:
    """Creates the account's AWS part in moto the way a customer would (boto3), plus HSMs through
    moto's backend (its CreateHsm answers 500). Returns moto id -> scenario id."""
    import boto3
    from moto.cloudhsmv2.models import cloudhsmv2_backends

    def client(service: str, region: str):
        return boto3.client(service, region_name=region, endpoint_url=endpoint,
                            aws_access_key_id="AKIAMOTOSEEDER000000",
                            aws_secret_access_key="moto-seeder-secret-0000000000000000000000")

    ids: dict[str, str] = {}
    for key in account["keys"]:
        kms = client("kms", key["region"])
        default_usage = {"SYMMETRIC_DEFAULT": "ENCRYPT_DECRYPT"}.get(key["key_spec"], "SIGN_VERIFY")
        options = {"KeySpec": key["key_spec"], "KeyUsage": key.get("key_usage", default_usage),
                   "Description": key.get("description", "")}
        if key.get("origin", "AWS_KMS") != "AWS_KMS":
            options["Origin"] = key["origin"]
        created = kms.create_key(**options)["KeyMetadata"]
        ids[created["KeyId"]] = key["key_id"]
        for alias in key.get("aliases", []):
            kms.create_alias(AliasName=alias, TargetKeyId=created["KeyId"])
        state = key.get("key_state", "Enabled")
        if state == "Disabled":
            kms.disable_key(KeyId=created["KeyId"])
        elif state == "PendingDeletion":
            kms.schedule_key_deletion(KeyId=created["KeyId"], PendingWindowInDays=7)
        elif state != "Enabled":
            raise AssertionError(f"moto seeding has no way to make a key {state}")

    buckets: set[str] = set()
    for trail in account["trails"]:
        region = trail["home_region"]
        bucket = trail.get("s3_bucket", "cloudtrail-logs")
        if bucket not in buckets:
            client("s3", "us-east-1").create_bucket(Bucket=bucket)
            buckets.add(bucket)
        cloudtrail = client("cloudtrail", region)
        cloudtrail.create_trail(Name=trail["name"], S3BucketName=bucket,
                                IsMultiRegionTrail=trail.get("multi_region", False))
        if trail.get("logging", True):
            cloudtrail.start_logging(Name=trail["name"])
        # moto gives a new trail no selectors at all; AWS gives it the default one.
        if "advanced_event_selectors" in trail:
            cloudtrail.put_event_selectors(TrailName=trail["name"],
                                           AdvancedEventSelectors=trail["advanced_event_selectors"])
        else:
            cloudtrail.put_event_selectors(
                TrailName=trail["name"],
                EventSelectors=trail.get("event_selectors", AWS_DEFAULT_EVENT_SELECTORS))

    for cluster in account.get("clusters", []):
        region = cluster["region"]
        created = client("cloudhsmv2", region).create_cluster(
            HsmType=cluster.get("hsm_type", "hsm2m.medium"), SubnetIds=["subnet-0123456789abcdef0"],
            Mode=cluster.get("mode", "FIPS"))["Cluster"]
        ids[created["ClusterId"]] = cluster["cluster_id"]
        backend = cloudhsmv2_backends[account["account_id"]][region].clusters[created["ClusterId"]]
        backend.state = cluster.get("state", "ACTIVE")
        backend.mode = cluster.get("mode", "FIPS")
        backend.hsms = [{"HsmId": hsm["hsm_id"], "State": hsm["state"],
                         "AvailabilityZone": hsm["availability_zone"],
                         "ClusterId": created["ClusterId"]} for hsm in cluster["hsms"]]
    return ids


def normalise_report(report: dict, ids: dict[str, str]) -> dict:
    """Drops what differs by nature (generation time, tool run data) and maps moto's ids."""
    text = json.dumps(report, sort_keys=True)
    for moto_id, scenario_id in ids.items():
        text = text.replace(moto_id, scenario_id)
    normalised = json.loads(text)
    for field in ("generated_at", "duration_ms", "tool", "version"):
        normalised.pop(field, None)
    return normalised


def strip_request_ids(value):
    if isinstance(value, dict):
        return {k: strip_request_ids(v) for k, v in value.items() if k not in ("request_id",)}
    if isinstance(value, list):
        return [strip_request_ids(v) for v in value]
    return value


class MotoParityTest(SandboxTestCase):

    def scan(self, env: dict[str, str]) -> tuple[int, dict]:
        regions = []
        for region in MANAGEMENT["enabled_regions"]:
            regions += ["--region", region]
        result = subprocess.run([require_binary(), "scan", "--aws", "--format", "json", "--quiet",
                                 *regions], env=env, capture_output=True, text=True, timeout=600)
        self.assertIn(result.returncode, (0, 1, 2), result.stderr[-3000:])
        return result.returncode, json.loads(result.stdout)

    def test_same_report_from_moto_and_from_the_sandbox(self):
        from moto.server import ThreadedMotoServer
        import logging

        for name in ("werkzeug", "moto", "flask.app", "moto.server"):
            logging.getLogger(name).setLevel(logging.CRITICAL)
        moto = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        moto.start()
        try:
            host, port = moto.get_host_and_port()
            moto_endpoint = f"http://{host}:{port}"
            ids = seed_moto(moto_endpoint, MANAGEMENT)

            moto_env = clean_environment()
            moto_env.update({"AWS_ENDPOINT_URL": moto_endpoint,
                             "AWS_ACCESS_KEY_ID": "AKIAMOTOSCANNER00000",
                             "AWS_SECRET_ACCESS_KEY": "moto-scanner-secret-000000000000000000000",
                             "AWS_REGION": "us-east-1"})
            moto_code, moto_report = self.scan(moto_env)

            sandbox_env = self.sandbox.client_environment()
            sandbox_env["AWS_ENDPOINT_URL"] = self.sandbox.endpoint
            sandbox_code, sandbox_report = self.scan(sandbox_env)
        finally:
            moto.stop()

        self.assertEqual(sandbox_code, moto_code)
        expected = strip_request_ids(normalise_report(moto_report, ids))
        actual = strip_request_ids(normalise_report(sandbox_report, {}))
        self.assertEqual(actual["verdict"], expected["verdict"])
        self.assertEqual(
            [(l["kind"], l["account"], l["region"], l["verdict"]) for l in actual["locations"]],
            [(l["kind"], l["account"], l["region"], l["verdict"]) for l in expected["locations"]])
        for mine, theirs in zip(actual["locations"], expected["locations"]):
            where = f"{mine['kind']} {mine['region']}"
            self.assertEqual([(c["id"], c["status"]) for c in mine["checks"]],
                             [(c["id"], c["status"]) for c in theirs["checks"]], where)
            for check, other in zip(mine["checks"], theirs["checks"]):
                self.assertEqual(check["message"], other["message"], f"{where} {check['id']}")
                self.assertEqual(check.get("warnings"), other.get("warnings"),
                                 f"{where} {check['id']}")
                self.assertEqual(
                    sorted((r["id"], r["status"], r.get("detail")) for r in check["resources"]),
                    sorted((r["id"], r["status"], r.get("detail")) for r in other["resources"]),
                    f"{where} {check['id']}")
        # The scenario is built to have passing and failing locations of both kinds.
        verdicts = {(l["kind"], l["verdict"]) for l in actual["locations"]}
        self.assertIn(("aws-kms", "pass"), verdicts)
        self.assertIn(("aws-kms", "fail"), verdicts)
        self.assertIn(("aws-cloudhsm", "pass"), verdicts)
        self.assertIn(("aws-cloudhsm", "fail"), verdicts)


if __name__ == "__main__":
    unittest.main()
