"""hsmproof scan --aws against moto with request authentication on.

moto checks every request's SigV4 signature and IAM permissions once its first
INITIAL_NO_AUTH_ACTION_COUNT calls (used here to create an admin user) are spent. That setting is
process-wide in moto, so this moto runs in its own process.
"""

from __future__ import annotations

import json
import re
import sys
import unittest

import boto3

from harness import (
    ACCOUNT,
    MotoSubprocess,
    Sandbox,
    ScanTestCase,
    Seeder,
    cloudhsm_statuses,
    kms_statuses,
    location_keys,
    requires_binary,
    run_hsmproof,
    scan_args,
    scan_env,
)

HOME = "us-east-1"
ADMIN_POLICY = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
}
REJECTED = re.compile(r"reject|invalid|not valid|signature|unrecognized|denied", re.IGNORECASE)


@requires_binary
class AuthenticatedScanTest(ScanTestCase):
    moto: MotoSubprocess

    @classmethod
    def setUpClass(cls) -> None:
        # Four unauthenticated calls create the admin; everything after is signed and checked.
        cls.moto = MotoSubprocess({"INITIAL_NO_AUTH_ACTION_COUNT": "4"}).start()
        try:
            cls._bootstrap()
        except Exception:
            cls.moto.stop()
            raise

    @classmethod
    def _bootstrap(cls) -> None:
        iam = boto3.client(
            "iam",
            region_name=HOME,
            endpoint_url=cls.moto.url,
            aws_access_key_id="AKIABOOTSTRAP0000000",
            aws_secret_access_key="bootstrap",
        )
        iam.create_user(UserName="admin")
        cls.admin_key = iam.create_access_key(UserName="admin")["AccessKey"]
        policy = iam.create_policy(PolicyName="admin", PolicyDocument=json.dumps(ADMIN_POLICY))
        iam.attach_user_policy(UserName="admin", PolicyArn=policy["Policy"]["Arn"])

        admin = Seeder(cls.moto.url, cls.admin_key["AccessKeyId"], cls.admin_key["SecretAccessKey"])
        admin.create_key(HOME, "RSA_4096", "SIGN_VERIFY")
        admin.create_trail(HOME)

        admin_iam = admin.client("iam")
        trust = {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:user/admin"},
                    "Action": "sts:AssumeRole",
                }
            ],
        }
        cls.role_arn = admin_iam.create_role(
            RoleName="hsmproof-auditor", AssumeRolePolicyDocument=json.dumps(trust)
        )["Role"]["Arn"]
        admin_iam.attach_role_policy(RoleName="hsmproof-auditor", PolicyArn=policy["Policy"]["Arn"])
        cls.role_credentials = admin.client("sts").assume_role(
            RoleArn=cls.role_arn, RoleSessionName="hsmproof-test"
        )["Credentials"]

        # An auditor who may read KMS and CloudTrail but not CloudHSM.
        admin_iam.create_user(UserName="no-cloudhsm")
        cls.no_cloudhsm_key = admin_iam.create_access_key(UserName="no-cloudhsm")["AccessKey"]
        admin_iam.put_user_policy(
            UserName="no-cloudhsm",
            PolicyName="read-kms-cloudtrail",
            PolicyDocument=json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Action": ["kms:*", "cloudtrail:*", "sts:GetCallerIdentity"],
                            "Resource": "*",
                        }
                    ],
                }
            ),
        )

    @classmethod
    def tearDownClass(cls) -> None:
        cls.moto.stop()

    def setUp(self) -> None:
        self.sandbox = Sandbox()
        self.addCleanup(self.sandbox.cleanup)
        self.secrets = (
            self.admin_key["SecretAccessKey"],
            self.no_cloudhsm_key["SecretAccessKey"],
            self.role_credentials["SecretAccessKey"],
            self.role_credentials["SessionToken"],
        )

    def scan(self, env_extra: dict[str, str], extra_args=()):
        env = scan_env(self.sandbox, self.moto.url, credentials=False, extra=env_extra)
        return run_hsmproof(scan_args((HOME,), extra=extra_args), env)

    def assert_passes(self, result) -> None:
        report = self.assert_consistent(result)
        self.assertEqual(location_keys(report), {("aws-kms", HOME)}, result.describe())
        self.assert_location(report, "aws-kms", HOME, kms_statuses())
        self.assertEqual(result.returncode, 0)

    def assert_rejected(self, result, *secrets: str) -> None:
        self.assertEqual(result.returncode, 3, result.describe())
        self.assert_no_secrets(result, secrets)
        self.assertRegex(result.stderr, re.compile("credential", re.IGNORECASE))
        self.assertRegex(result.stderr, REJECTED)
        for output in (result.stdout, result.stderr):
            self.assertNotIn("AWS4-HMAC-SHA256 Credential", output, "an Authorization header leaked")

    def admin_env(self) -> dict[str, str]:
        return {
            "AWS_ACCESS_KEY_ID": self.admin_key["AccessKeyId"],
            "AWS_SECRET_ACCESS_KEY": self.admin_key["SecretAccessKey"],
        }

    # --- credential sources ----------------------------------------------------------------

    def test_environment_keys(self):
        self.assert_passes(self.scan(self.admin_env()))

    def test_environment_session_token(self):
        credentials = self.role_credentials
        self.assert_passes(
            self.scan(
                {
                    "AWS_ACCESS_KEY_ID": credentials["AccessKeyId"],
                    "AWS_SECRET_ACCESS_KEY": credentials["SecretAccessKey"],
                    "AWS_SESSION_TOKEN": credentials["SessionToken"],
                }
            )
        )

    def write_credentials_file(self) -> None:
        self.sandbox.write(
            ".aws/credentials",
            "[default]\n"
            "aws_access_key_id = AKIADEFAULTNOTUSED00\n"
            "aws_secret_access_key = default-not-used\n"
            "\n"
            "[auditor]\n"
            f"aws_access_key_id = {self.admin_key['AccessKeyId']}\n"
            f"aws_secret_access_key = {self.admin_key['SecretAccessKey']}\n",
        )
        self.sandbox.write(".aws/config", "[profile auditor]\nregion = us-east-1\n")

    def test_named_profile_from_aws_profile(self):
        self.write_credentials_file()
        self.assert_passes(self.scan({"AWS_PROFILE": "auditor"}))

    def test_named_profile_from_option(self):
        self.write_credentials_file()
        self.assert_passes(self.scan({}, extra_args=("--profile", "auditor")))

    def test_profile_option_overrides_aws_profile(self):
        self.write_credentials_file()
        self.assert_passes(self.scan({"AWS_PROFILE": "default"}, extra_args=("--profile", "auditor")))

    def write_credential_process(self, payload: dict) -> str:
        script = self.sandbox.write(
            "bin/print-credentials.py",
            f"import json\nprint(json.dumps({payload!r}))\n",
            mode=0o700,
        )
        return f"{sys.executable} {script}"

    def test_credential_process_with_static_keys(self):
        command = self.write_credential_process(
            {
                "Version": 1,
                "AccessKeyId": self.admin_key["AccessKeyId"],
                "SecretAccessKey": self.admin_key["SecretAccessKey"],
            }
        )
        self.sandbox.write(".aws/config", f"[profile vault]\ncredential_process = {command}\n")
        self.assert_passes(self.scan({"AWS_PROFILE": "vault"}))

    def test_credential_process_with_temporary_credentials(self):
        credentials = self.role_credentials
        command = self.write_credential_process(
            {
                "Version": 1,
                "AccessKeyId": credentials["AccessKeyId"],
                "SecretAccessKey": credentials["SecretAccessKey"],
                "SessionToken": credentials["SessionToken"],
                "Expiration": "2099-01-01T00:00:00Z",
            }
        )
        self.sandbox.write(".aws/config", f"[profile vault]\ncredential_process = {command}\n")
        self.assert_passes(self.scan({"AWS_PROFILE": "vault"}))

    def test_credentials_file_with_comments_crlf_and_tight_spacing(self):
        self.sandbox.write(
            ".aws/credentials",
            "# written on Windows\r\n"
            "; another comment\r\n"
            "[auditor]\r\n"
            f"aws_access_key_id={self.admin_key['AccessKeyId']}\r\n"
            f"aws_secret_access_key  =  {self.admin_key['SecretAccessKey']}\r\n"
            "\r\n",
        )
        self.assert_passes(self.scan({"AWS_PROFILE": "auditor"}))

    def test_failing_credential_process_is_a_configuration_error(self):
        script = self.sandbox.write(
            "bin/fail.sh", "#!/bin/sh\necho 'vault is sealed' >&2\nexit 7\n", mode=0o700
        )
        self.sandbox.write(".aws/config", f"[profile vault]\ncredential_process = {script}\n")
        result = self.scan({"AWS_PROFILE": "vault"})
        self.assert_no_crash(result, allowed=(3,))
        self.assertIn("credential_process", result.stderr)

    def test_malformed_credential_process_output_is_not_echoed(self):
        leaked = "secret-inside-broken-json-must-not-be-printed"
        script = self.sandbox.write(
            "bin/broken.sh",
            "#!/bin/sh\n"
            f"printf '%s' '{{\"Version\": 1, \"AccessKeyId\": \"AKIABROKEN\", \"SecretAccessKey\": \"{leaked}\"'\n",
            mode=0o700,
        )
        self.sandbox.write(".aws/config", f"[profile vault]\ncredential_process = {script}\n")
        result = self.scan({"AWS_PROFILE": "vault"})
        self.assert_no_crash(result, allowed=(3,))
        self.assert_no_secrets(result, (leaked,))

    def test_expired_credential_process_credentials_end_the_scan(self):
        credentials = self.role_credentials
        command = self.write_credential_process(
            {
                "Version": 1,
                "AccessKeyId": credentials["AccessKeyId"],
                "SecretAccessKey": credentials["SecretAccessKey"],
                "SessionToken": credentials["SessionToken"],
                "Expiration": "2001-01-01T00:00:00Z",
            }
        )
        self.sandbox.write(".aws/config", f"[profile vault]\ncredential_process = {command}\n")
        env = scan_env(self.sandbox, self.moto.url, credentials=False, extra={"AWS_PROFILE": "vault"})
        result = run_hsmproof(scan_args((HOME,)), env, timeout=120)
        # The SDKs refuse credentials that are still expired after a refresh.
        self.assert_no_crash(result, allowed=(3,))
        self.assertRegex(result.stderr, re.compile("expir", re.IGNORECASE))
        self.assert_no_secrets(result)

    def test_assume_role_with_source_profile(self):
        self.sandbox.write(
            ".aws/credentials",
            "[base]\n"
            f"aws_access_key_id = {self.admin_key['AccessKeyId']}\n"
            f"aws_secret_access_key = {self.admin_key['SecretAccessKey']}\n",
        )
        self.sandbox.write(
            ".aws/config",
            f"[profile auditor]\nrole_arn = {self.role_arn}\nsource_profile = base\n",
        )
        self.assert_passes(self.scan({"AWS_PROFILE": "auditor"}))

    # --- rejected and missing permissions --------------------------------------------------

    def test_wrong_secret_is_rejected_without_printing_it(self):
        wrong = "wrong-secret-that-must-not-be-printed-42"
        result = self.scan(
            {"AWS_ACCESS_KEY_ID": self.admin_key["AccessKeyId"], "AWS_SECRET_ACCESS_KEY": wrong}
        )
        self.assert_rejected(result, wrong)

    def test_unknown_access_key_is_rejected(self):
        wrong = "unknown-user-secret-must-not-be-printed"
        result = self.scan(
            {"AWS_ACCESS_KEY_ID": "AKIAUNKNOWNUSER00000", "AWS_SECRET_ACCESS_KEY": wrong}
        )
        self.assert_rejected(result, wrong)

    def test_wrong_secret_in_profile_is_rejected(self):
        wrong = "profile-secret-that-must-not-be-printed"
        self.sandbox.write(
            ".aws/credentials",
            f"[auditor]\naws_access_key_id = {self.admin_key['AccessKeyId']}\n"
            f"aws_secret_access_key = {wrong}\n",
        )
        result = self.scan({"AWS_PROFILE": "auditor"})
        self.assert_rejected(result, wrong)

    def test_missing_profile_is_a_configuration_error(self):
        self.write_credentials_file()
        result = self.scan({"AWS_PROFILE": "no-such-profile"})
        self.assert_no_crash(result, allowed=(3,))
        self.assertIn("no-such-profile", result.stderr)

    def test_denied_cloudhsm_permission_is_incomplete_not_absent(self):
        result = self.scan(
            {
                "AWS_ACCESS_KEY_ID": self.no_cloudhsm_key["AccessKeyId"],
                "AWS_SECRET_ACCESS_KEY": self.no_cloudhsm_key["SecretAccessKey"],
            }
        )
        report = self.assert_consistent(result)
        self.assertEqual(location_keys(report), {("aws-kms", HOME), ("aws-cloudhsm", HOME)})
        self.assert_location(report, "aws-kms", HOME, kms_statuses())
        self.assert_location(report, "aws-cloudhsm", HOME, cloudhsm_statuses(cluster="incomplete"))
        self.assertEqual(report["verdict"], "pass")
        self.assertEqual(result.returncode, 0)


if __name__ == "__main__":
    unittest.main()
