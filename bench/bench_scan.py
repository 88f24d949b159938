#!/usr/bin/env python3
"""Benchmarks `hsmproof scan --aws` against moto, next to a plain sequential boto3 script.

Seeds one moto account once (default: 5 regions x 200 keys, of which 10 per region are
RSA_4096 SIGN_VERIFY and the rest symmetric because moto creates RSA keys slowly; trails;
CloudHSM clusters), then for each client measures, over --runs runs: wall time, user+system CPU
and peak RSS of the client process alone (os.wait4), and, in one extra run through a counting
proxy, the number of API calls by operation.

    python3 bench/bench_scan.py --bin build/hsmproof

Prints a table and writes bench/results/latest.json (git-ignored). See bench/README.md.
"""

from __future__ import annotations

import argparse
import collections
import datetime
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "integration"))

from fault_server import FaultProxy  # noqa: E402  (a proxy with no rules only counts)
from harness import (  # noqa: E402
    TEST_ACCESS_KEY,
    TEST_SECRET_KEY,
    MotoServer,
    Seeder,
)

DEFAULT_REGIONS = ["us-east-1", "us-west-2", "eu-west-1", "eu-central-1", "ap-southeast-2"]


def seed(seeder: Seeder, regions: list[str], keys_per_region: int, rsa_per_region: int) -> dict:
    started = time.monotonic()
    seeder.create_trail(regions[0], name="organisation-trail", multi_region=True)
    for index, region in enumerate(regions):
        for _ in range(rsa_per_region):
            seeder.create_key(region, "RSA_4096", "SIGN_VERIFY")
        kms = seeder.client("kms", region)
        for number in range(keys_per_region - rsa_per_region):
            key = kms.create_key(KeySpec="SYMMETRIC_DEFAULT", KeyUsage="ENCRYPT_DECRYPT")
            if number < 5:
                kms.create_alias(AliasName=f"alias/data-{number}", TargetKeyId=key["KeyMetadata"]["KeyId"])
        seeder.create_trail(region, name=f"regional-trail-{index}")
        seeder.create_cluster(region, hsm_states=("ACTIVE", "ACTIVE"))
        seeder.create_cluster(region, hsm_states=())
    return {
        "regions": regions,
        "keys_per_region": keys_per_region,
        "rsa_per_region": rsa_per_region,
        "trails": len(regions) + 1,
        "clusters": 2 * len(regions),
        "seconds": round(time.monotonic() - started, 1),
    }


GNU_TIME = "/usr/bin/time"


def run_measured(command: list[str], env: dict[str, str], timeout: float) -> dict:
    """Runs one client and measures it alone: wall time, user+system CPU, peak RSS.

    GNU time forks the client from its own small process. Forking it from this one (moto
    loaded, ~100 MiB) would make the kernel count this process's pages in the child's peak RSS
    (a vfork/fork child's high-water mark survives exec), so wait4 alone over-reports.
    """
    with tempfile.TemporaryDirectory() as scratch:
        stats_path = os.path.join(scratch, "time.txt")
        measured = [GNU_TIME, "-o", stats_path, "-f", "%e %U %S %M", *command] if USE_GNU_TIME else command
        with open(os.path.join(scratch, "out"), "w+b") as out, open(os.path.join(scratch, "err"), "w+b") as err:
            started = time.monotonic()
            process = subprocess.Popen(measured, env=env, stdout=out, stderr=err, stdin=subprocess.DEVNULL)
            try:
                _pid, status, usage = os.wait4(process.pid, 0) if timeout is None else _wait4_with_timeout(process, timeout)
            finally:
                if process.poll() is None:
                    process.kill()
            wall = time.monotonic() - started
            exit_code = os.waitstatus_to_exitcode(status)
            process.returncode = exit_code
            out.seek(0)
            err.seek(0)
            result = {
                "exit": exit_code,
                "wall_s": wall,
                "cpu_s": usage.ru_utime + usage.ru_stime,
                "max_rss_kib": usage.ru_maxrss,
                "stdout": out.read().decode(errors="replace"),
                "stderr": err.read().decode(errors="replace")[-2000:],
            }
        if USE_GNU_TIME:
            with open(stats_path, encoding="utf-8") as handle:
                # GNU time writes "Command exited with non-zero status N" first when N != 0.
                _elapsed, user, system, max_rss = handle.read().strip().splitlines()[-1].split()
            result.update(cpu_s=float(user) + float(system), max_rss_kib=int(max_rss))
        return result


def _wait4_with_timeout(process: subprocess.Popen, timeout: float):
    deadline = time.monotonic() + timeout
    while True:
        pid, status, usage = os.wait4(process.pid, os.WNOHANG)
        if pid:
            return pid, status, usage
        if time.monotonic() > deadline:
            process.kill()
            return os.wait4(process.pid, 0)
        time.sleep(0.002)


USE_GNU_TIME = os.access(GNU_TIME, os.X_OK)


def client_env(endpoint: str, home: str) -> dict[str, str]:
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": home,
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": TEST_ACCESS_KEY,
        "AWS_SECRET_ACCESS_KEY": TEST_SECRET_KEY,
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_CONFIG_FILE": os.path.join(home, "config"),
        "AWS_SHARED_CREDENTIALS_FILE": os.path.join(home, "credentials"),
    }


def summarise(name: str, runs: list[dict], calls: collections.Counter, note: str) -> dict:
    walls = [r["wall_s"] for r in runs]
    cpus = [r["cpu_s"] for r in runs]
    total_calls = sum(calls.values())
    return {
        "client": name,
        "runs": len(runs),
        "exit_codes": sorted({r["exit"] for r in runs}),
        "wall_s_median": round(statistics.median(walls), 3),
        "wall_s_min": round(min(walls), 3),
        "wall_s_max": round(max(walls), 3),
        "cpu_s_median": round(statistics.median(cpus), 3),
        "peak_rss_mib": round(max(r["max_rss_kib"] for r in runs) / 1024, 1),
        "api_calls": total_calls,
        "cpu_ms_per_call": round(1000 * statistics.median(cpus) / total_calls, 3) if total_calls else None,
        "calls_by_operation": dict(sorted(calls.items())),
        "note": note,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bin", required=True, help="path of the hsmproof binary")
    parser.add_argument("--regions", type=int, default=5, help="number of seeded regions (max %d)" % len(DEFAULT_REGIONS))
    parser.add_argument("--keys-per-region", type=int, default=200)
    parser.add_argument("--rsa-per-region", type=int, default=10)
    parser.add_argument("--runs", type=int, default=3, help="timed runs per client")
    parser.add_argument("--timeout", type=float, default=600)
    parser.add_argument("--output", default=os.path.join(HERE, "results", "latest.json"))
    args = parser.parse_args()

    binary = os.path.abspath(args.bin)
    if not os.access(binary, os.X_OK):
        parser.error(f"{args.bin} is not an executable file")
    regions = DEFAULT_REGIONS[: max(1, min(args.regions, len(DEFAULT_REGIONS)))]

    moto = MotoServer().start()
    proxy = FaultProxy(moto.url).start()
    home = tempfile.mkdtemp(prefix="hsmproof-bench-")
    try:
        print(f"seeding {len(regions)} regions x {args.keys_per_region} keys "
              f"({args.rsa_per_region} RSA_4096 per region) ...", flush=True)
        seeded = seed(Seeder(moto.url), regions, args.keys_per_region, args.rsa_per_region)
        print(f"seeded in {seeded['seconds']} s", flush=True)

        region_args = [a for region in regions for a in ("--region", region)]
        clients = {
            "hsmproof": [binary, "scan", "--aws", "--format", "json", "--quiet", *region_args],
            "hsmproof --concurrency 1": [binary, "scan", "--aws", "--format", "json", "--quiet",
                                         "--concurrency", "1", *region_args],
            "boto3 sequential": [sys.executable, os.path.join(HERE, "boto3_scan.py"), *region_args],
        }
        results = []
        for name, command in clients.items():
            # Counting run through the proxy (the proxy adds latency, so it is not timed).
            proxy.clear()
            counted = run_measured(command, client_env(proxy.url, home), args.timeout)
            if counted["exit"] not in (0, 1, 2):
                print(f"{name} failed (exit {counted['exit']}):\n{counted['stderr']}", file=sys.stderr)
                return 1
            calls = collections.Counter(f"{svc}:{op}" for svc, _region, op in proxy.operations())
            timed = []
            for run in range(args.runs):
                measured = run_measured(command, client_env(moto.url, home), args.timeout)
                if measured["exit"] != counted["exit"]:
                    print(f"{name}: run {run} exit {measured['exit']} != {counted['exit']}", file=sys.stderr)
                timed.append(measured)
            note = ""
            if name.startswith("hsmproof"):
                try:
                    report = json.loads(timed[-1]["stdout"])
                    note = f"verdict {report['verdict']}, {len(report['locations'])} locations"
                except (json.JSONDecodeError, KeyError):
                    note = "no JSON report"
            else:
                try:
                    note = "summary " + json.dumps(json.loads(timed[-1]["stdout"]), sort_keys=True)
                except json.JSONDecodeError:
                    note = "no summary"
            results.append(summarise(name, timed, calls, note))
            print(f"  {name}: done", flush=True)
    finally:
        proxy.stop()
        moto.stop()
        shutil.rmtree(home, ignore_errors=True)

    header = f"{'client':<26} {'wall s (med)':>12} {'cpu s':>7} {'peak RSS MiB':>12} {'API calls':>9} {'cpu ms/call':>11}"
    print()
    print(header)
    print("-" * len(header))
    for r in results:
        print(f"{r['client']:<26} {r['wall_s_median']:>12.3f} {r['cpu_s_median']:>7.3f} "
              f"{r['peak_rss_mib']:>12.1f} {r['api_calls']:>9} {r['cpu_ms_per_call'] or 0:>11.3f}")
    for r in results:
        print(f"  {r['client']}: {r['note']}")

    os.makedirs(os.path.dirname(os.path.abspath(args.output)), exist_ok=True)
    with open(args.output, "w", encoding="utf-8") as handle:
        json.dump(
            {
                "generated_at": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
                "machine": {"platform": platform.platform(), "cpus": os.cpu_count(), "python": platform.python_version()},
                "binary": binary,
                "server": "moto (ThreadedMotoServer, in the benchmark's process)",
                "measured_with": "GNU time" if USE_GNU_TIME else "wait4 (peak RSS over-reported: includes the forking process)",
                "seed": seeded,
                "results": results,
            },
            handle,
            indent=2,
        )
        handle.write("\n")
    print(f"\nwrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
