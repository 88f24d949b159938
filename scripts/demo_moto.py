#!/usr/bin/env python3
"""Starts moto (the AWS emulator in the image's Python) on loopback, seeds a small demo account
with passing and failing locations, runs `hsmproof scan --aws` against it through the standard
AWS_ENDPOINT_URL variable, and exits with hsmproof's exit code.

Usage: scripts/demo_moto.py BINARY [extra scan arguments...]
"""
import os
import subprocess
import sys

import logging

import boto3
from moto.server import ThreadedMotoServer

REGIONS = ["eu-west-1", "us-east-1", "eu-central-1"]


def seed(endpoint):
    session = boto3.session.Session(aws_access_key_id="demo", aws_secret_access_key="demo")

    def client(service, region):
        return session.client(service, region_name=region, endpoint_url=endpoint)

    s3 = client("s3", "us-east-1")
    s3.create_bucket(Bucket="demo-cloudtrail-logs")

    # eu-west-1 passes: an RSA_4096 signing key and a logging trail that records everything.
    kms = client("kms", "eu-west-1")
    key = kms.create_key(KeySpec="RSA_4096", KeyUsage="SIGN_VERIFY", Description="code signing")
    kms.create_alias(AliasName="alias/codesign", TargetKeyId=key["KeyMetadata"]["KeyId"])
    trail = client("cloudtrail", "eu-west-1")
    trail.create_trail(Name="audit-eu", S3BucketName="demo-cloudtrail-logs")
    # AWS gives a new trail this selector by default; moto leaves it empty, so set it explicitly.
    trail.put_event_selectors(TrailName="audit-eu", EventSelectors=[
        {"ReadWriteType": "All", "IncludeManagementEvents": True}])
    trail.start_logging(Name="audit-eu")

    # us-east-1 fails: an RSA_2048 key and a symmetric key; its trail records writes only.
    kms = client("kms", "us-east-1")
    kms.create_key(KeySpec="RSA_2048", KeyUsage="SIGN_VERIFY", Description="old signing key")
    kms.create_key(Description="data key")
    trail = client("cloudtrail", "us-east-1")
    trail.create_trail(Name="writes-only", S3BucketName="demo-cloudtrail-logs")
    trail.put_event_selectors(TrailName="writes-only", EventSelectors=[
        {"ReadWriteType": "WriteOnly", "IncludeManagementEvents": True}])
    trail.start_logging(Name="writes-only")

    # eu-central-1: a CloudHSM cluster without any HSM, and no trail.
    client("cloudhsmv2", "eu-central-1").create_cluster(
        HsmType="hsm2m.medium", SubnetIds=["subnet-0123456789abcdef0"])


def main():
    if len(sys.argv) < 2:
        print(__doc__, file=sys.stderr)
        return 3
    binary, extra = sys.argv[1], sys.argv[2:]
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no request log in the demo output
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    try:
        seed(endpoint)
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": os.environ.get("HOME", "/tmp"),
            "AWS_ENDPOINT_URL": endpoint,
            "AWS_ACCESS_KEY_ID": "demo",
            "AWS_SECRET_ACCESS_KEY": "demo",
            "AWS_REGION": "us-east-1",
            "AWS_EC2_METADATA_DISABLED": "true",
        }
        if "TERM" in os.environ:
            env["TERM"] = os.environ["TERM"]
        args = [binary, "scan", "--aws"] + [f"--region={r}" for r in REGIONS] + extra
        print("$ AWS_ENDPOINT_URL=" + endpoint + " " + " ".join(["hsmproof"] + args[1:]),
              file=sys.stderr)
        return subprocess.call(args, env=env)
    finally:
        server.stop()


if __name__ == "__main__":
    sys.exit(main())
