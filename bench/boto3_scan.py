"""The reference client for bench_scan.py: a plain, sequential boto3 script that makes the calls
hsmproof makes (STS, [EC2 DescribeRegions], then per region KMS ListKeys, DescribeKey for each
key, ListAliases, CloudTrail DescribeTrails, GetTrailStatus and GetEventSelectors once per trail
in its home region, CloudHSM DescribeClusters) and prints a one-line JSON summary.

Endpoint and credentials come from the environment (AWS_ENDPOINT_URL, AWS_ACCESS_KEY_ID, ...),
exactly as for hsmproof. It runs in its own process so its peak RSS is its own.
"""

from __future__ import annotations

import argparse
import json
import sys

import boto3
from botocore.config import Config

ENABLED = {"opt-in-not-required", "opted-in"}


def paged(call, member: str, token_in: str, token_out: str, **arguments):
    while True:
        page = call(**arguments)
        yield from page.get(member, [])
        token = page.get(token_out)
        if not token or page.get("Truncated") is False:
            return
        arguments[token_in] = token


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--region", action="append", default=[])
    parser.add_argument("--home-region", default="us-east-1")
    args = parser.parse_args()

    config = Config(retries={"max_attempts": 5, "mode": "standard"})
    session = boto3.session.Session()
    clients: dict = {}

    def client(service: str, region: str):
        if (service, region) not in clients:
            clients[(service, region)] = session.client(service, region_name=region, config=config)
        return clients[(service, region)]

    errors = 0
    account = client("sts", args.home_region).get_caller_identity()["Account"]
    regions = args.region
    if not regions:
        answer = client("ec2", args.home_region).describe_regions()
        regions = sorted(r["RegionName"] for r in answer["Regions"] if r.get("OptInStatus", "opt-in-not-required") in ENABLED)

    keys_seen = 0
    enabled_customer_keys = 0
    seen_trails: set[str] = set()
    logging_trails = 0
    clusters_seen = 0
    for region in regions:
        kms = client("kms", region)
        try:
            keys = list(paged(kms.list_keys, "Keys", "Marker", "NextMarker"))
            for key in keys:
                metadata = kms.describe_key(KeyId=key["KeyId"])["KeyMetadata"]
                keys_seen += 1
                if metadata.get("KeyManager") == "CUSTOMER" and metadata.get("KeyState") == "Enabled":
                    enabled_customer_keys += 1
            list(paged(kms.list_aliases, "Aliases", "Marker", "NextMarker"))
        except Exception:  # noqa: BLE001 - a benchmark counts failures, it doesn't stop
            errors += 1
        try:
            trails = client("cloudtrail", region).describe_trails(includeShadowTrails=True)["trailList"]
            for trail in trails:
                arn = trail["TrailARN"]
                if arn in seen_trails:
                    continue
                seen_trails.add(arn)
                home = client("cloudtrail", trail.get("HomeRegion", region))
                status = home.get_trail_status(Name=arn)
                home.get_event_selectors(TrailName=arn)
                logging_trails += bool(status.get("IsLogging"))
        except Exception:  # noqa: BLE001
            errors += 1
        try:
            clusters = list(paged(client("cloudhsmv2", region).describe_clusters, "Clusters", "NextToken", "NextToken"))
            clusters_seen += len(clusters)
        except Exception:  # noqa: BLE001
            errors += 1

    json.dump(
        {
            "account": account,
            "regions": len(regions),
            "errors": errors,
            "keys": keys_seen,
            "enabled_customer_keys": enabled_customer_keys,
            "trails": len(seen_trails),
            "logging_trails": logging_trails,
            "clusters": clusters_seen,
        },
        sys.stdout,
    )
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
