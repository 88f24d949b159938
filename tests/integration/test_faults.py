"""hsmproof scan --aws through a fault-injecting proxy in front of moto.

What could not be read is `incomplete`, never `pass`; transient faults are retried; the binary
never crashes (exit code in {0, 1, 2}, never 4 or a signal) and leaves no region unreported.
"""

from __future__ import annotations

import json
import unittest

import fault_server as faults
from harness import (
    MotoServer,
    Sandbox,
    ScanTestCase,
    Seeder,
    cloudhsm_statuses,
    find_check,
    kms_statuses,
    location,
    location_keys,
    requires_binary,
    resource_status,
    run_hsmproof,
    scan_args,
    scan_env,
)

HOME = "us-east-1"
OTHER = "eu-west-1"
KEY_CHECKS_INCOMPLETE = dict(
    origin="incomplete",
    asymmetric="incomplete",
    size="incomplete",
    usage="incomplete",
    sign_verify="incomplete",
)


@requires_binary
class FaultTestCase(ScanTestCase):
    moto: MotoServer
    proxy: faults.FaultProxy

    @classmethod
    def setUpClass(cls) -> None:
        cls.moto = MotoServer().start()
        cls.proxy = faults.FaultProxy(cls.moto.url).start()

    @classmethod
    def tearDownClass(cls) -> None:
        cls.proxy.stop()
        cls.moto.stop()

    def setUp(self) -> None:
        self.moto.reset()
        self.proxy.clear()
        self.seed = Seeder(self.moto.url)  # seeding goes straight to moto, not through faults
        self.sandbox = Sandbox()
        self.addCleanup(self.sandbox.cleanup)

    def scan_report(self, regions=(HOME,), keys=()):
        env = scan_env(self.sandbox, self.proxy.url)
        result = run_hsmproof(scan_args(regions, keys), env)
        return result, self.assert_consistent(result)

    def passing_kms(self, region=HOME, multi_region_trail=False):
        key = self.seed.create_key(region, "RSA_4096", "SIGN_VERIFY")
        self.seed.create_trail(region, multi_region=multi_region_trail)
        return key

    def assert_retried(self, operation: str, at_least: int = 2, at_most: int = 10) -> None:
        seen = self.proxy.count(operation=operation)
        self.assertGreaterEqual(seen, at_least, f"{operation} was not retried")
        self.assertLessEqual(seen, at_most, f"{operation} retried without bound")


class AccessDeniedTest(FaultTestCase):
    def test_denied_region_is_incomplete_and_other_regions_are_still_reported(self):
        self.passing_kms(HOME)
        self.passing_kms(OTHER)
        self.seed.create_cluster(OTHER, hsm_states=("ACTIVE",))
        for service in ("kms", "cloudtrail", "cloudhsm"):
            self.proxy.add(faults.access_denied(), region=OTHER, service=service)
        result, report = self.scan_report(regions=(HOME, OTHER))
        # KMS and CloudHSM could not be read in OTHER: both kinds of location exist there.
        self.assertEqual(
            location_keys(report),
            {("aws-kms", HOME), ("aws-kms", OTHER), ("aws-cloudhsm", OTHER)},
        )
        self.assert_location(report, "aws-kms", HOME, kms_statuses())
        self.assert_location(
            report, "aws-kms", OTHER, kms_statuses(logging_status="incomplete", **KEY_CHECKS_INCOMPLETE)
        )
        self.assert_location(
            report, "aws-cloudhsm", OTHER, cloudhsm_statuses("incomplete", "incomplete")
        )
        self.assertIn("AccessDenied", json.dumps(location(report, "aws-kms", OTHER)))
        # HOME passes, so the account passes (DESIGN.md overall verdict).
        self.assertEqual(report["verdict"], "pass")
        self.assertEqual(result.returncode, 0)

    def test_denied_only_region_scanned_is_incomplete(self):
        self.passing_kms(OTHER)
        for service in ("kms", "cloudtrail", "cloudhsm"):
            self.proxy.add(faults.access_denied(), region=OTHER, service=service)
        result, report = self.scan_report(regions=(OTHER,))
        self.assert_location(
            report, "aws-kms", OTHER, kms_statuses(logging_status="incomplete", **KEY_CHECKS_INCOMPLETE)
        )
        self.assert_location(
            report, "aws-cloudhsm", OTHER, cloudhsm_statuses("incomplete", "incomplete")
        )
        self.assertEqual(report["verdict"], "incomplete")
        self.assertEqual(result.returncode, 2)

    def test_kms_denied_with_logging_readable_is_incomplete(self):
        self.passing_kms(HOME)
        self.proxy.add(faults.access_denied(), service="kms")
        result, report = self.scan_report()
        self.assertEqual(location_keys(report), {("aws-kms", HOME)})
        self.assert_location(report, "aws-kms", HOME, kms_statuses(**KEY_CHECKS_INCOMPLETE))
        self.assertEqual(result.returncode, 2)

    def test_one_unreadable_key_makes_the_key_checks_incomplete(self):
        self.passing_kms(HOME)
        hidden = self.seed.create_key(HOME, "RSA_4096", "SIGN_VERIFY")
        self.proxy.add(faults.access_denied(), operation="DescribeKey", body_contains=hidden["KeyId"])
        result, report = self.scan_report()
        # The readable key is a SIGN_VERIFY key, so that check is known to pass; every check
        # about "every key" depends on the unreadable one.
        self.assert_location(
            report,
            "aws-kms",
            HOME,
            kms_statuses(origin="incomplete", asymmetric="incomplete", size="incomplete", usage="incomplete"),
        )
        origin = find_check(report, "aws-kms", HOME, "aws_kms_cmk_origin")
        self.assertEqual(resource_status(origin, hidden["Arn"]), "incomplete", origin)
        self.assertEqual(report["verdict"], "incomplete")
        self.assertEqual(result.returncode, 2)

    def test_a_known_failure_outweighs_an_unreadable_key(self):
        self.passing_kms(HOME)
        self.seed.create_key(HOME, "RSA_2048", "SIGN_VERIFY")
        hidden = self.seed.create_key(HOME, "RSA_4096", "SIGN_VERIFY")
        self.proxy.add(faults.access_denied(), operation="DescribeKey", body_contains=hidden["KeyId"])
        result, report = self.scan_report()
        self.assert_location(
            report,
            "aws-kms",
            HOME,
            kms_statuses(origin="incomplete", asymmetric="incomplete", size="fail", usage="incomplete"),
        )
        self.assertEqual(result.returncode, 1)

    def test_requested_key_not_found_while_a_region_is_unreadable_is_incomplete(self):
        self.passing_kms(HOME, multi_region_trail=True)
        hidden = self.seed.create_key(OTHER, "RSA_4096", "SIGN_VERIFY")
        self.proxy.add(faults.access_denied(), region=OTHER, service="kms")
        result, report = self.scan_report(regions=(HOME, OTHER), keys=(hidden["KeyId"],))
        self.assert_location(report, "aws-kms", HOME, kms_statuses())
        self.assert_location(report, "aws-kms", OTHER, kms_statuses(**KEY_CHECKS_INCOMPLETE))
        # The key may be in the region that could not be read: unknown, so not a fail.
        self.assertEqual(report["verdict"], "incomplete")
        self.assertEqual(result.returncode, 2)

    def test_unreadable_region_list_is_incomplete(self):
        self.seed.create_key(HOME, "RSA_2048", "SIGN_VERIFY")
        self.seed.create_trail(HOME)
        self.proxy.add(faults.server_error(500), service="ec2")
        result, report = self.scan_report(regions=())
        self.assertEqual(report["verdict"], "incomplete")
        self.assertTrue(report["errors"], "the scope error must be reported")
        self.assertEqual(result.returncode, 2)

    def test_identity_unreadable_never_passes(self):
        self.passing_kms(HOME)
        self.proxy.add(faults.server_error(500), service="sts")
        env = scan_env(self.sandbox, self.proxy.url)
        result = run_hsmproof(scan_args((HOME,)), env)
        self.assert_no_crash(result, allowed=(2, 3))
        self.assert_no_secrets(result)


class RetryTest(FaultTestCase):
    def test_kms_throttling_is_retried(self):
        self.passing_kms(HOME)
        self.proxy.add(faults.throttled(400), operation="DescribeKey", times=2)
        result, report = self.scan_report()
        self.assert_location(report, "aws-kms", HOME, kms_statuses())
        self.assertEqual(result.returncode, 0)
        self.assert_retried("DescribeKey", at_least=3)

    def test_http_429_is_retried(self):
        self.passing_kms(HOME)
        self.proxy.add(faults.throttled(429), operation="GetTrailStatus", times=2)
        result, report = self.scan_report()
        self.assert_location(report, "aws-kms", HOME, kms_statuses())
        self.assertEqual(result.returncode, 0)
        self.assert_retried("GetTrailStatus", at_least=3)

    def test_cloudhsm_503_is_retried(self):
        self.seed.create_cluster(HOME, hsm_states=("ACTIVE",))
        self.seed.create_trail(HOME)
        self.proxy.add(faults.server_error(503), operation="DescribeClusters", times=1)
        result, report = self.scan_report()
        self.assert_location(report, "aws-cloudhsm", HOME, cloudhsm_statuses())
        self.assertEqual(result.returncode, 0)
        self.assert_retried("DescribeClusters")

    def test_sts_throttling_is_retried(self):
        self.passing_kms(HOME)
        self.proxy.add(faults.aws_error(400, "Throttling", "Rate exceeded"), service="sts", times=1)
        result, report = self.scan_report()
        self.assert_location(report, "aws-kms", HOME, kms_statuses())
        self.assertEqual(result.returncode, 0)

    def test_one_connection_reset_is_retried(self):
        self.passing_kms(HOME)
        self.proxy.add(faults.connection_reset(), operation="ListKeys", times=1)
        result, report = self.scan_report()
        self.assert_location(report, "aws-kms", HOME, kms_statuses())
        self.assertEqual(result.returncode, 0)
        self.assert_retried("ListKeys")

    def test_one_short_body_is_retried(self):
        self.passing_kms(HOME)
        self.proxy.add(faults.short_body(), operation="DescribeTrails", times=1)
        result, report = self.scan_report()
        self.assert_location(report, "aws-kms", HOME, kms_statuses())
        self.assertEqual(result.returncode, 0)
        self.assert_retried("DescribeTrails")


class PagingTest(FaultTestCase):
    """moto answers every list in one page; the proxy re-pages answers the way AWS does."""

    def list_keys_pages(self, page_size: int, broken: str | None = None) -> faults.Action:
        return faults.paginate("Keys", "Marker", "NextMarker", page_size, broken=broken)

    def test_every_list_keys_page_is_read(self):
        self.passing_kms(HOME)
        for _ in range(3):
            self.seed.create_key(HOME, "RSA_4096", "SIGN_VERIFY")
        weak = self.seed.create_key(HOME, "RSA_2048", "SIGN_VERIFY")  # on the last page
        self.proxy.add(self.list_keys_pages(2), operation="ListKeys")
        result, report = self.scan_report()
        self.assert_location(report, "aws-kms", HOME, kms_statuses(size="fail"))
        size = find_check(report, "aws-kms", HOME, "aws_kms_cmk_rsa_3072_4096")
        self.assertEqual(len(size["resources"]), 5, size)
        self.assertEqual(resource_status(size, weak["Arn"]), "fail", size)
        self.assertEqual(self.proxy.count(operation="ListKeys"), 3)
        self.assertEqual(result.returncode, 1)

    def test_truncated_list_keys_without_marker_is_incomplete(self):
        self.passing_kms(HOME)
        self.seed.create_key(HOME, "RSA_4096", "SIGN_VERIFY")
        self.proxy.add(self.list_keys_pages(1, broken="no_marker"), operation="ListKeys")
        result, report = self.scan_report()
        self.assert_location(report, "aws-kms", HOME, kms_statuses(**KEY_CHECKS_INCOMPLETE))
        self.assertEqual(result.returncode, 2)

    def test_list_keys_marker_loop_ends_incomplete(self):
        self.passing_kms(HOME)
        self.seed.create_key(HOME, "RSA_4096", "SIGN_VERIFY")
        self.proxy.add(self.list_keys_pages(1, broken="loop"), operation="ListKeys")
        env = scan_env(self.sandbox, self.proxy.url)
        result = run_hsmproof(scan_args((HOME,)), env, timeout=120)
        report = self.assert_consistent(result)
        self.assert_location(report, "aws-kms", HOME, kms_statuses(**KEY_CHECKS_INCOMPLETE))
        self.assertEqual(result.returncode, 2)

    def test_alias_on_a_later_list_aliases_page_is_found(self):
        key = self.passing_kms(HOME)
        kms = self.seed.client("kms", HOME)
        for name in ("alias/first", "alias/second", "alias/third", "alias/codesign"):
            kms.create_alias(AliasName=name, TargetKeyId=key["KeyId"])
        self.proxy.add(
            faults.paginate("Aliases", "Marker", "NextMarker", 1), operation="ListAliases"
        )
        result, report = self.scan_report(keys=("alias/codesign",))
        self.assert_location(report, "aws-kms", HOME, kms_statuses())
        self.assertTrue(location(report, "aws-kms", HOME)["holds_requested_key"])
        self.assertGreaterEqual(self.proxy.count(operation="ListAliases"), 4)
        self.assertEqual(result.returncode, 0)

    def test_requested_alias_with_unreadable_aliases_is_incomplete(self):
        self.passing_kms(HOME)
        kms = self.seed.client("kms", HOME)
        key = self.seed.create_key(HOME, "RSA_4096", "SIGN_VERIFY")
        kms.create_alias(AliasName="alias/codesign", TargetKeyId=key["KeyId"])
        self.proxy.add(faults.access_denied(), operation="ListAliases")
        result, report = self.scan_report(keys=("alias/codesign",))
        self.assert_location(report, "aws-kms", HOME, kms_statuses())
        # Which location holds the alias is unknown: not a pass, and not a fail either.
        self.assertEqual(report["verdict"], "incomplete")
        self.assertEqual(result.returncode, 2)

    def test_active_cluster_on_a_later_page_is_found(self):
        self.seed.create_cluster(HOME, hsm_states=())
        self.seed.create_cluster(HOME, hsm_states=("CREATE_IN_PROGRESS",))
        good = self.seed.create_cluster(HOME, hsm_states=("ACTIVE",))
        self.seed.create_trail(HOME)
        self.proxy.add(
            faults.paginate("Clusters", "NextToken", "NextToken", 1, truncated_flag=False),
            operation="DescribeClusters",
        )
        result, report = self.scan_report()
        self.assert_location(report, "aws-cloudhsm", HOME, cloudhsm_statuses())
        cluster = find_check(report, "aws-cloudhsm", HOME, "aws_cloudhsm_active_cluster")
        self.assertEqual(resource_status(cluster, good), "pass", cluster)
        self.assertEqual(self.proxy.count(operation="DescribeClusters"), 3)
        self.assertEqual(result.returncode, 0)


class AnswerVariantTest(FaultTestCase):
    """Valid AWS answers moto cannot produce, served by rewriting moto's."""

    def describe_key_of(self, key: dict, change) -> None:
        def edit(answer: dict) -> None:
            change(answer["KeyMetadata"])

        self.proxy.add(faults.rewrite(edit), operation="DescribeKey", body_contains=key["KeyId"])

    def test_aws_managed_keys_are_ignored(self):
        self.passing_kms(HOME)
        managed = self.seed.create_key(HOME, "SYMMETRIC_DEFAULT", "ENCRYPT_DECRYPT")
        self.describe_key_of(managed, lambda metadata: metadata.update(KeyManager="AWS"))
        result, report = self.scan_report()
        self.assert_location(report, "aws-kms", HOME, kms_statuses())
        self.assertEqual(result.returncode, 0)

    def test_region_with_only_aws_managed_keys_is_not_a_location(self):
        managed = self.seed.create_key(HOME, "SYMMETRIC_DEFAULT", "ENCRYPT_DECRYPT")
        self.seed.create_trail(HOME)
        self.describe_key_of(managed, lambda metadata: metadata.update(KeyManager="AWS"))
        result, report = self.scan_report()
        self.assertEqual(report["locations"], [])
        self.assertEqual(result.returncode, 1)

    def test_unknown_key_spec_is_accepted_and_judged(self):
        self.passing_kms(HOME)
        future = self.seed.create_key(HOME, "ECC_NIST_P256", "SIGN_VERIFY")
        self.describe_key_of(
            future,
            lambda metadata: metadata.update(
                KeySpec="ML_DSA_65", CustomerMasterKeySpec="ML_DSA_65", SigningAlgorithms=["ML_DSA_SHAKE_256"]
            ),
        )
        result, report = self.scan_report()
        self.assert_location(report, "aws-kms", HOME, kms_statuses(size="fail"))
        size = find_check(report, "aws-kms", HOME, "aws_kms_cmk_rsa_3072_4096")
        self.assertEqual(resource_status(size, future["Arn"]), "fail", size)
        self.assertEqual(result.returncode, 1)

    def test_cloudhsm_backed_kms_key_is_not_aws_kms_origin(self):
        self.passing_kms(HOME)
        custom_store = self.seed.create_key(HOME, "RSA_4096", "SIGN_VERIFY")
        self.describe_key_of(
            custom_store,
            lambda metadata: metadata.update(
                Origin="AWS_CLOUDHSM", CustomKeyStoreId="cks-1234567890abcdef0", CloudHsmClusterId="cluster-1"
            ),
        )
        result, report = self.scan_report()
        self.assert_location(report, "aws-kms", HOME, kms_statuses(origin="fail"))
        self.assertEqual(result.returncode, 1)

    def test_exponent_timestamps_and_unknown_members_are_accepted(self):
        self.passing_kms(HOME)

        def edit(answer: dict) -> None:
            answer["KeyMetadata"]["CreationDate"] = 1.665517588478e9
            answer["KeyMetadata"]["SomeFutureMember"] = {"nested": [1, 2, 3]}
            answer["AnotherFutureMember"] = None

        self.proxy.add(faults.rewrite(edit), operation="DescribeKey")
        result, report = self.scan_report()
        self.assert_location(report, "aws-kms", HOME, kms_statuses())
        self.assertEqual(result.returncode, 0)

    def test_degraded_cluster_with_active_hsm_fails(self):
        self.seed.create_cluster(HOME, hsm_states=("ACTIVE",))
        self.seed.create_trail(HOME)

        def edit(answer: dict) -> None:
            for cluster in answer["Clusters"]:
                cluster["State"] = "DEGRADED"

        self.proxy.add(faults.rewrite(edit), operation="DescribeClusters")
        result, report = self.scan_report()
        self.assert_location(report, "aws-cloudhsm", HOME, cloudhsm_statuses(cluster="fail"))
        self.assertEqual(result.returncode, 1)


class PersistentFaultTest(FaultTestCase):
    def test_describe_clusters_500_always_is_incomplete(self):
        self.seed.create_cluster(HOME, hsm_states=("ACTIVE",))
        self.seed.create_trail(HOME)
        self.proxy.add(faults.server_error(500), operation="DescribeClusters")
        result, report = self.scan_report()
        self.assertEqual(location_keys(report), {("aws-cloudhsm", HOME)})
        self.assert_location(report, "aws-cloudhsm", HOME, cloudhsm_statuses(cluster="incomplete"))
        self.assertEqual(report["verdict"], "incomplete")
        self.assertEqual(result.returncode, 2)
        self.assert_retried("DescribeClusters")

    def test_list_keys_short_body_always_is_incomplete(self):
        self.passing_kms(HOME)
        self.proxy.add(faults.short_body(), operation="ListKeys")
        result, report = self.scan_report()
        self.assert_location(report, "aws-kms", HOME, kms_statuses(**KEY_CHECKS_INCOMPLETE))
        self.assertEqual(result.returncode, 2)

    def test_cut_json_in_describe_trails_is_incomplete(self):
        self.passing_kms(HOME)
        self.proxy.add(faults.cut_json(), operation="DescribeTrails")
        result, report = self.scan_report()
        self.assert_location(report, "aws-kms", HOME, kms_statuses(logging_status="incomplete"))
        self.assertEqual(result.returncode, 2)

    def test_cut_json_in_list_keys_is_incomplete(self):
        self.passing_kms(HOME)
        self.proxy.add(faults.cut_json(), operation="ListKeys")
        result, report = self.scan_report()
        self.assert_location(report, "aws-kms", HOME, kms_statuses(**KEY_CHECKS_INCOMPLETE))
        self.assertEqual(result.returncode, 2)

    def test_wrongly_typed_list_keys_is_incomplete(self):
        self.passing_kms(HOME)
        self.proxy.add(faults.raw(200, b'{"Keys": 5, "Truncated": false}'), operation="ListKeys")
        result, report = self.scan_report()
        self.assert_location(report, "aws-kms", HOME, kms_statuses(**KEY_CHECKS_INCOMPLETE))
        self.assertEqual(result.returncode, 2)

    def test_html_answer_to_describe_clusters_is_incomplete(self):
        self.seed.create_cluster(HOME, hsm_states=("ACTIVE",))
        self.seed.create_trail(HOME)
        self.proxy.add(
            faults.raw(200, b"<html><body>captive portal</body></html>", "text/html"),
            operation="DescribeClusters",
        )
        result, report = self.scan_report()
        self.assert_location(report, "aws-cloudhsm", HOME, cloudhsm_statuses(cluster="incomplete"))
        self.assertEqual(result.returncode, 2)

    def test_connection_reset_always_on_describe_key_is_incomplete(self):
        self.passing_kms(HOME)
        self.proxy.add(faults.connection_reset(), operation="DescribeKey")
        result, report = self.scan_report()
        self.assert_location(report, "aws-kms", HOME, kms_statuses(**KEY_CHECKS_INCOMPLETE))
        self.assertEqual(result.returncode, 2)
        self.assert_retried("DescribeKey")

    def test_no_single_persistent_fault_yields_a_pass(self):
        """Each read the verdict rests on, broken on its own, in each way: never a pass."""
        expectations = {
            "ListKeys": kms_statuses(**KEY_CHECKS_INCOMPLETE),
            "DescribeKey": kms_statuses(**KEY_CHECKS_INCOMPLETE),
            "DescribeTrails": kms_statuses(logging_status="incomplete"),
            "GetTrailStatus": kms_statuses(logging_status="incomplete"),
            "GetEventSelectors": kms_statuses(logging_status="incomplete"),
        }
        fault_kinds = {
            "500": lambda: faults.server_error(500),
            "denied": faults.access_denied,
            "cut_json": faults.cut_json,
            "reset": faults.connection_reset,
        }
        for operation, expected in expectations.items():
            for fault_name, make_fault in fault_kinds.items():
                with self.subTest(operation=operation, fault=fault_name):
                    self.moto.reset()
                    self.proxy.clear()
                    self.seed = Seeder(self.moto.url)
                    self.passing_kms(HOME)
                    self.proxy.add(make_fault(), operation=operation)
                    result, report = self.scan_report()
                    self.assertEqual(location_keys(report), {("aws-kms", HOME)})
                    self.assert_location(report, "aws-kms", HOME, expected)
                    self.assertEqual(report["verdict"], "incomplete")
                    self.assertEqual(result.returncode, 2)


if __name__ == "__main__":
    unittest.main()
