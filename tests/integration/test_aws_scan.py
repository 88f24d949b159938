"""hsmproof scan --aws against moto: one case per behaviour of DESIGN.md's AWS checks.

Every case asserts every check of every location it creates, the location verdicts, the overall
verdict and the exit code.
"""

from __future__ import annotations

import json
import os
import re
import unittest

from harness import (
    ACCOUNT,
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
    strip_generated_at,
)

HOME = "us-east-1"
OTHER = "eu-west-1"
# moto's CloudHSM v2 answers HTTP 500 in these regions (moto has no backend for them).
MOTO_BROKEN_CLOUDHSM_REGIONS = {"ap-east-2", "ap-southeast-4", "cn-north-1", "cn-northwest-1"}
# moto's DescribeRegions marks ap-east-2 and ap-southeast-4 "not-opted-in": a scan of every
# enabled region skips them, so only the China regions meet the broken CloudHSM there.
MOTO_BROKEN_ENABLED_CLOUDHSM_REGIONS = {"cn-north-1", "cn-northwest-1"}

KMS_EXCLUDED_BASIC = [
    {
        "ReadWriteType": "All",
        "IncludeManagementEvents": True,
        "DataResources": [],
        "ExcludeManagementEventSources": ["kms.amazonaws.com"],
    }
]
KMS_EXCLUDED_ADVANCED = [
    {
        "Name": "Management events except KMS",
        "FieldSelectors": [
            {"Field": "eventCategory", "Equals": ["Management"]},
            {"Field": "eventSource", "NotEquals": ["kms.amazonaws.com"]},
        ],
    }
]
ALL_MANAGEMENT_ADVANCED = [
    {
        "Name": "All management events",
        "FieldSelectors": [{"Field": "eventCategory", "Equals": ["Management"]}],
    }
]
WRITE_ONLY_ADVANCED = [
    {
        "Name": "Write-only management events",
        "FieldSelectors": [
            {"Field": "eventCategory", "Equals": ["Management"]},
            {"Field": "readOnly", "Equals": ["false"]},
        ],
    }
]


class MotoScanTestCase(ScanTestCase):
    """One moto per class; every test starts from an empty account."""

    moto: MotoServer

    @classmethod
    def setUpClass(cls) -> None:
        cls.moto = MotoServer().start()

    @classmethod
    def tearDownClass(cls) -> None:
        cls.moto.stop()

    def setUp(self) -> None:
        self.moto.reset()
        self.seed = Seeder(self.moto.url)
        self.sandbox = Sandbox()
        self.addCleanup(self.sandbox.cleanup)

    def scan(self, regions=(HOME,), keys=(), fmt="json", extra=(), env_extra=None):
        env = scan_env(self.sandbox, self.moto.url, extra=env_extra)
        return run_hsmproof(scan_args(regions, keys, fmt, extra), env)

    def scan_report(self, regions=(HOME,), keys=(), extra=()):
        result = self.scan(regions, keys, "json", extra)
        return result, self.assert_consistent(result)

    def passing_region(self, region: str = HOME, alias: str | None = None) -> dict:
        """An RSA_4096 SIGN_VERIFY key and a logging home-region trail with default selectors."""
        key = self.seed.create_key(region, "RSA_4096", "SIGN_VERIFY", alias=alias)
        self.seed.create_trail(region)
        return key


@requires_binary
class KmsKeyChecksTest(MotoScanTestCase):
    def test_rsa_4096_sign_verify_key_with_logging_trail_passes(self):
        key = self.passing_region()
        result, report = self.scan_report()
        self.assertEqual(location_keys(report), {("aws-kms", HOME)})
        self.assert_location(report, "aws-kms", HOME, kms_statuses())
        self.assertEqual(report["verdict"], "pass")
        self.assertEqual(result.returncode, 0)
        self.assertEqual(report["baseline"], "entrust")
        size = find_check(report, "aws-kms", HOME, "aws_kms_cmk_rsa_3072_4096")
        self.assertEqual(resource_status(size, key["Arn"]), "pass", size)

    def test_rsa_3072_key_passes(self):
        self.seed.create_key(HOME, "RSA_3072", "SIGN_VERIFY")
        self.seed.create_trail(HOME)
        result, report = self.scan_report()
        self.assert_location(report, "aws-kms", HOME, kms_statuses())
        self.assertEqual(result.returncode, 0)

    def test_extra_rsa_2048_key_fails_key_size(self):
        self.passing_region()
        weak = self.seed.create_key(HOME, "RSA_2048", "SIGN_VERIFY")
        result, report = self.scan_report()
        self.assertEqual(location_keys(report), {("aws-kms", HOME)})
        self.assert_location(report, "aws-kms", HOME, kms_statuses(size="fail"))
        size = find_check(report, "aws-kms", HOME, "aws_kms_cmk_rsa_3072_4096")
        self.assertEqual(resource_status(size, weak["Arn"]), "fail", size)
        self.assertEqual(report["verdict"], "fail")
        self.assertEqual(result.returncode, 1)

    def test_symmetric_key_fails_asymmetric_and_size(self):
        self.passing_region()
        symmetric = self.seed.create_key(HOME, "SYMMETRIC_DEFAULT", "ENCRYPT_DECRYPT")
        result, report = self.scan_report()
        self.assert_location(
            report, "aws-kms", HOME, kms_statuses(asymmetric="fail", size="fail")
        )
        asymmetric = find_check(report, "aws-kms", HOME, "aws_kms_cmk_asymmetric")
        self.assertEqual(resource_status(asymmetric, symmetric["Arn"]), "fail", asymmetric)
        self.assertEqual(report["verdict"], "fail")
        self.assertEqual(result.returncode, 1)

    def test_hmac_key_fails_asymmetric_size_and_usage(self):
        self.passing_region()
        self.seed.create_key(HOME, "HMAC_256", "GENERATE_VERIFY_MAC")
        result, report = self.scan_report()
        self.assert_location(
            report, "aws-kms", HOME, kms_statuses(asymmetric="fail", size="fail", usage="fail")
        )
        self.assertEqual(result.returncode, 1)

    def test_ecc_key_fails_key_size_only(self):
        self.passing_region()
        ecc = self.seed.create_key(HOME, "ECC_NIST_P256", "SIGN_VERIFY")
        result, report = self.scan_report()
        self.assert_location(report, "aws-kms", HOME, kms_statuses(size="fail"))
        size = find_check(report, "aws-kms", HOME, "aws_kms_cmk_rsa_3072_4096")
        self.assertEqual(resource_status(size, ecc["Arn"]), "fail", size)
        self.assertEqual(result.returncode, 1)

    def test_external_origin_key_fails_origin_only(self):
        self.passing_region()
        imported = self.seed.create_key(HOME, "RSA_4096", "SIGN_VERIFY", origin="EXTERNAL")
        result, report = self.scan_report()
        self.assert_location(report, "aws-kms", HOME, kms_statuses(origin="fail"))
        origin = find_check(report, "aws-kms", HOME, "aws_kms_cmk_origin")
        self.assertEqual(resource_status(origin, imported["Arn"]), "fail", origin)
        self.assertEqual(report["verdict"], "fail")
        self.assertEqual(result.returncode, 1)

    def test_only_encrypt_decrypt_rsa_key_fails_sign_verify_key(self):
        self.seed.create_key(HOME, "RSA_4096", "ENCRYPT_DECRYPT")
        self.seed.create_trail(HOME)
        result, report = self.scan_report()
        self.assert_location(report, "aws-kms", HOME, kms_statuses(sign_verify="fail"))
        self.assertEqual(result.returncode, 1)

    def test_disabled_and_pending_deletion_keys_are_ignored(self):
        self.passing_region()
        disabled = self.seed.create_key(HOME, "RSA_2048", "SIGN_VERIFY")
        self.seed.disable_key(HOME, disabled["KeyId"])
        doomed = self.seed.create_key(HOME, "SYMMETRIC_DEFAULT", "ENCRYPT_DECRYPT")
        self.seed.schedule_key_deletion(HOME, doomed["KeyId"])
        result, report = self.scan_report()
        self.assert_location(report, "aws-kms", HOME, kms_statuses())
        self.assertEqual(report["verdict"], "pass")
        self.assertEqual(result.returncode, 0)

    def test_region_with_only_disabled_keys_is_not_a_location(self):
        self.passing_region(HOME)
        disabled = self.seed.create_key(OTHER, "RSA_4096", "SIGN_VERIFY")
        self.seed.disable_key(OTHER, disabled["KeyId"])
        result, report = self.scan_report(regions=(HOME, OTHER))
        self.assertEqual(location_keys(report), {("aws-kms", HOME)})
        self.assertEqual(result.returncode, 0)

    def test_empty_account_has_no_location_and_does_not_pass(self):
        result, report = self.scan_report(regions=(HOME, OTHER))
        self.assertEqual(report["locations"], [])
        self.assertEqual(report["verdict"], "fail")
        self.assertEqual(result.returncode, 1)


@requires_binary
class CloudTrailLoggingTest(MotoScanTestCase):
    def test_multi_region_trail_in_us_east_1_covers_eu_west_1(self):
        self.seed.create_key(OTHER, "RSA_4096", "SIGN_VERIFY")
        self.seed.create_trail(HOME, multi_region=True)
        result, report = self.scan_report(regions=(OTHER,))
        self.assertEqual(location_keys(report), {("aws-kms", OTHER)})
        self.assert_location(report, "aws-kms", OTHER, kms_statuses())
        self.assertEqual(result.returncode, 0)

    def test_single_region_trail_in_us_east_1_does_not_cover_eu_west_1(self):
        self.seed.create_key(OTHER, "RSA_4096", "SIGN_VERIFY")
        self.seed.create_trail(HOME, multi_region=False)
        result, report = self.scan_report(regions=(HOME, OTHER))
        self.assertEqual(location_keys(report), {("aws-kms", OTHER)})
        self.assert_location(report, "aws-kms", OTHER, kms_statuses(logging_status="fail"))
        self.assertEqual(result.returncode, 1)

    def test_no_trail_fails_logging(self):
        self.seed.create_key(HOME, "RSA_4096", "SIGN_VERIFY")
        result, report = self.scan_report()
        self.assert_location(report, "aws-kms", HOME, kms_statuses(logging_status="fail"))
        self.assertEqual(result.returncode, 1)

    def test_basic_selector_excluding_kms_fails_kms_but_counts_for_cloudhsm(self):
        self.seed.create_key(HOME, "RSA_4096", "SIGN_VERIFY")
        self.seed.create_cluster(HOME, hsm_states=("ACTIVE",))
        self.seed.create_trail(HOME, event_selectors=KMS_EXCLUDED_BASIC)
        result, report = self.scan_report()
        self.assertEqual(location_keys(report), {("aws-kms", HOME), ("aws-cloudhsm", HOME)})
        self.assert_location(report, "aws-kms", HOME, kms_statuses(logging_status="fail"))
        self.assert_location(report, "aws-cloudhsm", HOME, cloudhsm_statuses())
        # One location passes, so the account passes (DESIGN.md overall verdict).
        self.assertEqual(report["verdict"], "pass")
        self.assertEqual(result.returncode, 0)

    def test_advanced_selector_excluding_kms_fails_kms_but_counts_for_cloudhsm(self):
        self.seed.create_key(HOME, "RSA_4096", "SIGN_VERIFY")
        self.seed.create_cluster(HOME, hsm_states=("ACTIVE",))
        self.seed.create_trail(HOME, advanced_event_selectors=KMS_EXCLUDED_ADVANCED)
        result, report = self.scan_report()
        self.assert_location(report, "aws-kms", HOME, kms_statuses(logging_status="fail"))
        self.assert_location(report, "aws-cloudhsm", HOME, cloudhsm_statuses())
        self.assertEqual(result.returncode, 0)

    def test_advanced_selector_excluding_kms_alone_fails(self):
        self.seed.create_key(HOME, "RSA_4096", "SIGN_VERIFY")
        self.seed.create_trail(HOME, advanced_event_selectors=KMS_EXCLUDED_ADVANCED)
        result, report = self.scan_report()
        self.assertEqual(location_keys(report), {("aws-kms", HOME)})
        self.assert_location(report, "aws-kms", HOME, kms_statuses(logging_status="fail"))
        self.assertEqual(report["verdict"], "fail")
        self.assertEqual(result.returncode, 1)

    def test_advanced_selector_with_all_management_events_passes(self):
        self.seed.create_key(HOME, "RSA_4096", "SIGN_VERIFY")
        self.seed.create_trail(HOME, advanced_event_selectors=ALL_MANAGEMENT_ADVANCED)
        result, report = self.scan_report()
        self.assert_location(report, "aws-kms", HOME, kms_statuses())
        self.assertEqual(result.returncode, 0)

    def test_excluding_another_event_source_still_passes(self):
        self.seed.create_key(HOME, "RSA_4096", "SIGN_VERIFY")
        self.seed.create_trail(
            HOME,
            event_selectors=[
                {
                    "ReadWriteType": "All",
                    "IncludeManagementEvents": True,
                    "DataResources": [],
                    "ExcludeManagementEventSources": ["rdsdata.amazonaws.com"],
                }
            ],
        )
        result, report = self.scan_report()
        self.assert_location(report, "aws-kms", HOME, kms_statuses())
        self.assertEqual(result.returncode, 0)

    def test_read_only_plus_write_only_selectors_record_everything(self):
        self.seed.create_key(HOME, "RSA_4096", "SIGN_VERIFY")
        self.seed.create_trail(
            HOME,
            event_selectors=[
                {"ReadWriteType": "ReadOnly", "IncludeManagementEvents": True, "DataResources": []},
                {"ReadWriteType": "WriteOnly", "IncludeManagementEvents": True, "DataResources": []},
            ],
        )
        result, report = self.scan_report()
        self.assert_location(report, "aws-kms", HOME, kms_statuses())
        self.assertEqual(result.returncode, 0)

    def test_advanced_selector_limited_to_cloudhsm_events_does_not_log_kms(self):
        self.seed.create_key(HOME, "RSA_4096", "SIGN_VERIFY")
        self.seed.create_cluster(HOME, hsm_states=("ACTIVE",))
        self.seed.create_trail(
            HOME,
            advanced_event_selectors=[
                {
                    "Name": "CloudHSM management events only",
                    "FieldSelectors": [
                        {"Field": "eventCategory", "Equals": ["Management"]},
                        {"Field": "eventSource", "Equals": ["cloudhsm.amazonaws.com"]},
                    ],
                }
            ],
        )
        result, report = self.scan_report()
        self.assert_location(report, "aws-kms", HOME, kms_statuses(logging_status="fail"))
        self.assertEqual(result.returncode, 0)  # the CloudHSM location passes

    def test_advanced_selector_not_starting_with_kms_excludes_kms(self):
        self.seed.create_key(HOME, "RSA_4096", "SIGN_VERIFY")
        self.seed.create_trail(
            HOME,
            advanced_event_selectors=[
                {
                    "Name": "Management events except kms*",
                    "FieldSelectors": [
                        {"Field": "eventCategory", "Equals": ["Management"]},
                        {"Field": "eventSource", "NotStartsWith": ["kms."]},
                    ],
                }
            ],
        )
        result, report = self.scan_report()
        self.assert_location(report, "aws-kms", HOME, kms_statuses(logging_status="fail"))
        self.assertEqual(result.returncode, 1)

    def test_advanced_selector_for_data_events_only_fails(self):
        self.seed.create_key(HOME, "RSA_4096", "SIGN_VERIFY")
        self.seed.create_trail(
            HOME,
            advanced_event_selectors=[
                {
                    "Name": "S3 data events",
                    "FieldSelectors": [
                        {"Field": "eventCategory", "Equals": ["Data"]},
                        {"Field": "resources.type", "Equals": ["AWS::S3::Object"]},
                    ],
                }
            ],
        )
        result, report = self.scan_report()
        self.assert_location(report, "aws-kms", HOME, kms_statuses(logging_status="fail"))
        self.assertEqual(result.returncode, 1)

    def test_stopped_trail_fails(self):
        self.seed.create_key(HOME, "RSA_4096", "SIGN_VERIFY")
        trail = self.seed.create_trail(HOME, logging_on=True)
        self.seed.stop_trail(HOME, trail["Name"])
        result, report = self.scan_report()
        self.assert_location(report, "aws-kms", HOME, kms_statuses(logging_status="fail"))
        logging_check = find_check(report, "aws-kms", HOME, "aws_cloudtrail_logging")
        self.assertEqual(resource_status(logging_check, trail["TrailARN"]), "fail", logging_check)
        self.assertEqual(result.returncode, 1)

    def test_write_only_trail_fails(self):
        self.seed.create_key(HOME, "RSA_4096", "SIGN_VERIFY")
        self.seed.create_trail(
            HOME,
            event_selectors=[
                {"ReadWriteType": "WriteOnly", "IncludeManagementEvents": True, "DataResources": []}
            ],
        )
        result, report = self.scan_report()
        self.assert_location(report, "aws-kms", HOME, kms_statuses(logging_status="fail"))
        self.assertEqual(result.returncode, 1)

    def test_write_only_advanced_selector_fails(self):
        self.seed.create_key(HOME, "RSA_4096", "SIGN_VERIFY")
        self.seed.create_trail(HOME, advanced_event_selectors=WRITE_ONLY_ADVANCED)
        result, report = self.scan_report()
        self.assert_location(report, "aws-kms", HOME, kms_statuses(logging_status="fail"))
        self.assertEqual(result.returncode, 1)

    def test_trail_without_management_events_fails(self):
        self.seed.create_key(HOME, "RSA_4096", "SIGN_VERIFY")
        self.seed.create_trail(
            HOME,
            event_selectors=[
                {"ReadWriteType": "All", "IncludeManagementEvents": False, "DataResources": []}
            ],
        )
        result, report = self.scan_report()
        self.assert_location(report, "aws-kms", HOME, kms_statuses(logging_status="fail"))
        self.assertEqual(result.returncode, 1)

    def test_one_good_trail_is_enough(self):
        self.seed.create_key(HOME, "RSA_4096", "SIGN_VERIFY")
        stopped = self.seed.create_trail(HOME)
        self.seed.stop_trail(HOME, stopped["Name"])
        self.seed.create_trail(HOME, event_selectors=KMS_EXCLUDED_BASIC)
        self.seed.create_trail(OTHER, multi_region=True)
        result, report = self.scan_report()
        self.assert_location(report, "aws-kms", HOME, kms_statuses())
        self.assertEqual(result.returncode, 0)


@requires_binary
class CloudHsmTest(MotoScanTestCase):
    def test_cluster_with_active_hsm_passes(self):
        cluster_id = self.seed.create_cluster(HOME, hsm_states=("ACTIVE",))
        self.seed.create_trail(HOME)
        result, report = self.scan_report()
        self.assertEqual(location_keys(report), {("aws-cloudhsm", HOME)})
        self.assert_location(report, "aws-cloudhsm", HOME, cloudhsm_statuses())
        cluster = find_check(report, "aws-cloudhsm", HOME, "aws_cloudhsm_active_cluster")
        self.assertEqual(resource_status(cluster, cluster_id), "pass", cluster)
        self.assertEqual(cluster["warnings"], [])
        self.assertEqual(report["verdict"], "pass")
        self.assertEqual(result.returncode, 0)

    def test_cluster_without_hsms_fails(self):
        cluster_id = self.seed.create_cluster(HOME, hsm_states=())
        self.seed.create_trail(HOME)
        result, report = self.scan_report()
        self.assertEqual(location_keys(report), {("aws-cloudhsm", HOME)})
        self.assert_location(report, "aws-cloudhsm", HOME, cloudhsm_statuses(cluster="fail"))
        cluster = find_check(report, "aws-cloudhsm", HOME, "aws_cloudhsm_active_cluster")
        self.assertEqual(resource_status(cluster, cluster_id), "fail", cluster)
        self.assertEqual(report["verdict"], "fail")
        self.assertEqual(result.returncode, 1)

    def test_cluster_whose_only_hsm_is_not_active_fails(self):
        self.seed.create_cluster(HOME, hsm_states=("CREATE_IN_PROGRESS",))
        self.seed.create_trail(HOME)
        result, report = self.scan_report()
        self.assert_location(report, "aws-cloudhsm", HOME, cloudhsm_statuses(cluster="fail"))
        self.assertEqual(result.returncode, 1)

    def test_non_fips_cluster_passes_with_a_warning(self):
        self.seed.create_cluster(HOME, hsm_states=("ACTIVE",), mode="NON_FIPS")
        self.seed.create_trail(HOME)
        result, report = self.scan_report()
        self.assert_location(report, "aws-cloudhsm", HOME, cloudhsm_statuses())
        cluster = find_check(report, "aws-cloudhsm", HOME, "aws_cloudhsm_active_cluster")
        self.assertTrue(cluster["warnings"], "a NON_FIPS cluster must carry a warning")
        self.assertTrue(any("FIPS" in w for w in cluster["warnings"]), cluster["warnings"])
        self.assertEqual(result.returncode, 0)

    def test_cluster_without_trail_fails_logging(self):
        self.seed.create_cluster(HOME, hsm_states=("ACTIVE",))
        result, report = self.scan_report()
        self.assert_location(
            report, "aws-cloudhsm", HOME, cloudhsm_statuses(logging_status="fail")
        )
        self.assertEqual(result.returncode, 1)


@requires_binary
class RequestedKeyTest(MotoScanTestCase):
    """--key narrows the overall verdict to the locations holding the named keys."""

    def setUp(self) -> None:
        super().setUp()
        self.good = self.seed.create_key(HOME, "RSA_4096", "SIGN_VERIFY", alias="alias/codesign-good")
        self.weak = self.seed.create_key(OTHER, "RSA_2048", "SIGN_VERIFY", alias="alias/codesign-weak")
        self.seed.create_trail(HOME, multi_region=True)

    def scan_for(self, *keys):
        result, report = self.scan_report(regions=(HOME, OTHER), keys=keys)
        self.assertEqual(location_keys(report), {("aws-kms", HOME), ("aws-kms", OTHER)})
        self.assert_location(report, "aws-kms", HOME, kms_statuses())
        self.assert_location(report, "aws-kms", OTHER, kms_statuses(size="fail"))
        return result, report

    def holders(self, report):
        return {loc["region"] for loc in report["locations"] if loc["holds_requested_key"]}

    def test_without_key_one_passing_location_passes(self):
        result, report = self.scan_for()
        self.assertEqual(self.holders(report), set())
        self.assertEqual(report["verdict"], "pass")
        self.assertEqual(result.returncode, 0)

    def test_key_id_in_failing_region_fails(self):
        result, report = self.scan_for(self.weak["KeyId"])
        self.assertEqual(self.holders(report), {OTHER})
        self.assertEqual(report["verdict"], "fail")
        self.assertEqual(result.returncode, 1)

    def test_key_arn_in_passing_region_passes(self):
        result, report = self.scan_for(self.good["Arn"])
        self.assertEqual(self.holders(report), {HOME})
        self.assertEqual(report["verdict"], "pass")
        self.assertEqual(result.returncode, 0)

    def test_alias_name_narrows(self):
        result, report = self.scan_for("alias/codesign-weak")
        self.assertEqual(self.holders(report), {OTHER})
        self.assertEqual(result.returncode, 1)
        result, report = self.scan_for("alias/codesign-good")
        self.assertEqual(self.holders(report), {HOME})
        self.assertEqual(result.returncode, 0)

    def test_alias_arn_narrows(self):
        alias_arn = f"arn:aws:kms:{OTHER}:{ACCOUNT}:alias/codesign-weak"
        result, report = self.scan_for(alias_arn)
        self.assertEqual(self.holders(report), {OTHER})
        self.assertEqual(result.returncode, 1)

    def test_two_keys_fail_when_one_is_in_a_failing_location(self):
        result, report = self.scan_for(self.good["KeyId"], self.weak["Arn"])
        self.assertEqual(self.holders(report), {HOME, OTHER})
        self.assertEqual(report["verdict"], "fail")
        self.assertEqual(result.returncode, 1)

    def test_key_not_found_does_not_pass(self):
        missing = "11111111-2222-3333-4444-555555555555"
        result, report = self.scan_for(missing)
        self.assertEqual(self.holders(report), set())
        # Everything was read and the key is nowhere: the requested key is not in a passing
        # location, which is a fail, and the reason must name it.
        self.assertEqual(report["verdict"], "fail")
        self.assertIn(missing, report["verdict_reason"])
        self.assertEqual(result.returncode, 1)


@requires_binary
class AllRegionsTest(MotoScanTestCase):
    def test_every_enabled_region_is_scanned_and_broken_cloudhsm_regions_are_incomplete(self):
        self.passing_region(HOME)
        self.seed.create_trail(HOME, multi_region=True)
        self.seed.create_key("ap-southeast-2", "RSA_2048", "SIGN_VERIFY")
        self.seed.create_cluster("us-west-2", hsm_states=("ACTIVE",))
        # ap-east-1 is "not-opted-in" in moto: a disabled region is not scanned.
        self.seed.create_key("ap-east-1", "RSA_2048", "SIGN_VERIFY")
        result, report = self.scan_report(regions=())
        expected = {("aws-kms", HOME), ("aws-kms", "ap-southeast-2"), ("aws-cloudhsm", "us-west-2")}
        expected |= {("aws-cloudhsm", region) for region in MOTO_BROKEN_ENABLED_CLOUDHSM_REGIONS}
        self.assertEqual(location_keys(report), expected)
        self.assert_location(report, "aws-kms", HOME, kms_statuses())
        self.assert_location(report, "aws-kms", "ap-southeast-2", kms_statuses(size="fail"))
        self.assert_location(report, "aws-cloudhsm", "us-west-2", cloudhsm_statuses())
        for region in MOTO_BROKEN_ENABLED_CLOUDHSM_REGIONS:
            self.assert_location(
                report, "aws-cloudhsm", region, cloudhsm_statuses(cluster="incomplete")
            )
        self.assertEqual(report["verdict"], "pass")
        self.assertEqual(result.returncode, 0)

    def test_every_region_without_a_passing_location_is_incomplete_not_pass(self):
        self.seed.create_trail(HOME, multi_region=True)
        self.seed.create_key(HOME, "RSA_2048", "SIGN_VERIFY")
        result, report = self.scan_report(regions=())
        expected = {("aws-kms", HOME)}
        expected |= {("aws-cloudhsm", region) for region in MOTO_BROKEN_ENABLED_CLOUDHSM_REGIONS}
        self.assertEqual(location_keys(report), expected)
        self.assert_location(report, "aws-kms", HOME, kms_statuses(size="fail"))
        # No location passes and some are incomplete: the account is incomplete.
        self.assertEqual(report["verdict"], "incomplete")
        self.assertEqual(result.returncode, 2)

    def test_named_broken_cloudhsm_regions_are_incomplete_never_pass(self):
        self.seed.create_trail(HOME, multi_region=True)
        regions = sorted(MOTO_BROKEN_CLOUDHSM_REGIONS)
        result, report = self.scan_report(regions=regions)
        self.assertEqual(
            location_keys(report), {("aws-cloudhsm", region) for region in regions}
        )
        for region in regions:
            self.assert_location(
                report, "aws-cloudhsm", region, cloudhsm_statuses(cluster="incomplete")
            )
        self.assertEqual(report["verdict"], "incomplete")
        self.assertEqual(result.returncode, 2)


@requires_binary
class OutputTest(MotoScanTestCase):
    def test_output_file_holds_the_json_report(self):
        self.passing_region()
        self.seed.create_key(HOME, "RSA_2048", "SIGN_VERIFY")
        path = self.sandbox.path("out/report.json")
        os.makedirs(os.path.dirname(path))
        result = self.scan(extra=("--output", path))
        self.assert_no_crash(result)
        self.assertEqual(result.returncode, 1, result.describe())
        with open(path, encoding="utf-8") as handle:
            report = json.load(handle)
        self.assertEqual(report["verdict"], "fail")
        self.assertEqual(
            {c["id"]: c["status"] for c in location(report, "aws-kms", HOME)["checks"]},
            kms_statuses(size="fail"),
        )

    def test_text_report_states_verdict_and_failing_check(self):
        self.passing_region()
        self.seed.create_key(HOME, "RSA_2048", "SIGN_VERIFY")
        result = self.scan(fmt="text")
        self.assert_no_crash(result)
        self.assert_no_secrets(result)
        self.assertEqual(result.returncode, 1, result.describe())
        self.assertRegex(result.stdout, re.compile(r"\bfail\b", re.IGNORECASE))
        self.assertIn("aws_kms_cmk_rsa_3072_4096", result.stdout)
        self.assertNotIn("\x1b[", result.stdout, "colours on a non-terminal")

    def test_text_report_of_a_pass(self):
        self.passing_region()
        result = self.scan(fmt="text")
        self.assertEqual(result.returncode, 0, result.describe())
        self.assertRegex(result.stdout, re.compile(r"\bpass\b", re.IGNORECASE))

    def test_json_is_byte_stable_across_runs_and_concurrency(self):
        self.passing_region(HOME)
        self.seed.create_key(HOME, "RSA_2048", "SIGN_VERIFY")
        self.seed.create_key(HOME, "SYMMETRIC_DEFAULT", "ENCRYPT_DECRYPT")
        self.seed.create_key(OTHER, "ECC_NIST_P384", "SIGN_VERIFY")
        self.seed.create_cluster(OTHER, hsm_states=("ACTIVE", "ACTIVE"))
        self.seed.create_trail(OTHER, multi_region=True)
        runs = [
            self.scan(regions=(HOME, OTHER)),
            self.scan(regions=(HOME, OTHER)),
            self.scan(regions=(HOME, OTHER), extra=("--concurrency", "1")),
            self.scan(regions=(HOME, OTHER), extra=("--concurrency", "16")),
        ]
        for run in runs:
            self.assert_consistent(run)
        first = strip_generated_at(runs[0].stdout)
        for run in runs[1:]:
            self.assertEqual(strip_generated_at(run.stdout), first, " ".join(run.args))


@requires_binary
class UsageAndConfigurationTest(MotoScanTestCase):
    def test_unknown_format_is_a_usage_error(self):
        result = self.scan(fmt="xml")
        self.assert_no_crash(result, allowed=(3,))

    def test_unknown_option_is_a_usage_error(self):
        result = self.scan(extra=("--no-such-option",))
        self.assert_no_crash(result, allowed=(3,))

    def test_plain_http_to_a_non_loopback_endpoint_is_refused(self):
        env = scan_env(self.sandbox, "http://192.0.2.10:4566")
        result = run_hsmproof(scan_args((HOME,)), env, timeout=60)
        self.assert_no_crash(result, allowed=(3,))
        self.assertIn("AWS_ENDPOINT_URL", result.stderr)
        self.assert_no_secrets(result)

    def test_unknown_baseline_is_a_usage_error(self):
        result = self.scan(extra=("--baseline", "no-such-baseline"))
        self.assert_no_crash(result, allowed=(3,))
        self.assertIn("no-such-baseline", result.stderr)

    def test_service_specific_endpoints_override_the_global_one(self):
        self.passing_region()
        dead = "http://127.0.0.1:9"  # discard port: nothing listens
        services = ("KMS", "CLOUDTRAIL", "CLOUDHSM_V2", "STS", "EC2")
        extra = {f"AWS_ENDPOINT_URL_{service}": self.moto.url for service in services}
        env = scan_env(self.sandbox, dead, extra=extra)
        result = run_hsmproof(scan_args((HOME,)), env)
        report = self.assert_consistent(result)
        self.assert_location(report, "aws-kms", HOME, kms_statuses())
        self.assertEqual(result.returncode, 0)

    def test_endpoint_spelled_with_localhost_and_trailing_slash(self):
        self.passing_region()
        port = self.moto.url.rsplit(":", 1)[1]
        for endpoint in (f"http://localhost:{port}", f"{self.moto.url}/"):
            with self.subTest(endpoint=endpoint):
                result = run_hsmproof(scan_args((HOME,)), scan_env(self.sandbox, endpoint))
                report = self.assert_consistent(result)
                self.assert_location(report, "aws-kms", HOME, kms_statuses())
                self.assertEqual(result.returncode, 0)

    def test_unreachable_cloudhsm_endpoint_is_incomplete(self):
        self.passing_region()
        env = scan_env(
            self.sandbox, self.moto.url, extra={"AWS_ENDPOINT_URL_CLOUDHSM_V2": "http://127.0.0.1:9"}
        )
        result = run_hsmproof(scan_args((HOME,)), env)
        report = self.assert_consistent(result)
        self.assertEqual(location_keys(report), {("aws-kms", HOME), ("aws-cloudhsm", HOME)})
        self.assert_location(report, "aws-kms", HOME, kms_statuses())
        self.assert_location(report, "aws-cloudhsm", HOME, cloudhsm_statuses(cluster="incomplete"))
        self.assertEqual(result.returncode, 0)

    def test_no_credentials_is_a_configuration_error(self):
        env = scan_env(self.sandbox, self.moto.url, credentials=False)
        result = run_hsmproof(scan_args((HOME,)), env, timeout=60)
        self.assert_no_crash(result, allowed=(3,))
        self.assertRegex(result.stderr, re.compile("credential", re.IGNORECASE))


if __name__ == "__main__":
    unittest.main()
