"""The sandbox's Azure endpoints read by the official Azure SDKs for JavaScript (@azure/identity,
@azure/arm-keyvault, @azure/arm-policyinsights, @azure/arm-monitor 8, @azure/arm-policy,
@azure/keyvault-keys) over HTTPS, trusting the sandbox's CA through NODE_EXTRA_CA_CERTS, across
page boundaries; and the raw wire (Key Vault challenge, Resource Manager errors) through Python's
own TLS client. Expected values come from the scenario file the sandbox serves."""

import copy
import json
import os
import select
import shlex
import shutil
import ssl
import subprocess
import tempfile
import time
import unittest
import urllib.error
import urllib.parse
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
SANDBOX_TESTS = os.path.dirname(HERE)
SOURCE_DIR = os.path.dirname(os.path.dirname(SANDBOX_TESTS))
DEFAULT_SCENARIO = os.path.join(SOURCE_DIR, "src", "sandbox", "scenarios", "default.json")
NODE_MODULES = os.path.join(SANDBOX_TESTS, "node_modules")
BIN = os.environ.get("HSMPROOF_BIN", "")
NODE = shutil.which("node")

HSM_KEYS_POLICY = ("/providers/Microsoft.Authorization/policyDefinitions/"
                   "587c79fe-dd04-4a5e-9d0b-f89598c7261b")


def missing_prerequisite():
    if not BIN or not os.path.exists(BIN):
        return "HSMPROOF_BIN does not name the hsmproof binary"
    if NODE is None:
        return "node is not installed"
    for package in ("identity", "arm-keyvault", "arm-policyinsights", "arm-monitor",
                    "arm-policy", "keyvault-keys"):
        if not os.path.isdir(os.path.join(NODE_MODULES, "@azure", package)):
            return ("tests/sandbox/node_modules lacks @azure/%s: run `npm ci` in tests/sandbox"
                    % package)
    return None


class Sandbox:
    """`hsmproof sandbox` as a subprocess; `env` holds the variables it printed."""

    def __init__(self, *args):
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("AWS_", "AZURE_")) and k != "SSL_CERT_FILE"}
        self.process = subprocess.Popen(
            [BIN, "sandbox", "--listen", "127.0.0.1:0", *args],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
        self.env = {}
        deadline = time.monotonic() + 30
        buffered = b""
        # SSL_CERT_FILE is the last line the sandbox prints.
        while "SSL_CERT_FILE" not in self.env:
            remaining = deadline - time.monotonic()
            ready, _, _ = select.select([self.process.stdout], [], [], max(0.0, remaining))
            if not ready:
                self.stop()
                raise AssertionError("sandbox printed no SSL_CERT_FILE within 30 s; stderr: "
                                     + self.process.stderr.read().decode(errors="replace"))
            chunk = os.read(self.process.stdout.fileno(), 4096)
            if not chunk:
                raise AssertionError("sandbox exited: "
                                     + self.process.stderr.read().decode(errors="replace"))
            buffered += chunk
            *lines, rest = buffered.split(b"\n")
            buffered = rest
            for line in lines:
                text = line.decode()
                if text.startswith("export "):
                    name, _, value = text[len("export "):].partition("=")
                    self.env[name] = shlex.split(value)[0] if value else ""
        self.base = self.env["AZURE_RESOURCE_MANAGER_ENDPOINT"]
        self.ca = self.env.get("AWS_CA_BUNDLE") or self.env["SSL_CERT_FILE"]
        self.tls = ssl.create_default_context(cafile=self.ca)

    def stop(self):
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        for stream in (self.process.stdout, self.process.stderr):
            stream.close()

    # ---- raw HTTP, Python's own client ----

    def http(self, method, url, headers=None, body=None):
        if not url.startswith("https://"):
            url = self.base + url
        request = urllib.request.Request(url, data=body, method=method, headers=headers or {})
        try:
            with urllib.request.urlopen(request, context=self.tls, timeout=30) as response:
                return response.status, dict(response.headers), response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, dict(error.headers), error.read().decode()

    def token(self, scope):
        form = urllib.parse.urlencode({
            "grant_type": "client_credentials", "client_id": self.env["AZURE_CLIENT_ID"],
            "client_secret": self.env["AZURE_CLIENT_SECRET"], "scope": scope}).encode()
        status, _, body = self.http(
            "POST", "%s/%s/oauth2/v2.0/token" % (self.env["AZURE_AUTHORITY_HOST"],
                                                 self.env["AZURE_TENANT_ID"]),
            {"Content-Type": "application/x-www-form-urlencoded"}, form)
        if status != 200:
            raise AssertionError("token request failed: %d %s" % (status, body))
        return json.loads(body)["access_token"]

    # ---- the node clients ----

    def node(self, case, *args, extra_env=None):
        env = dict(os.environ)
        env.update(self.env)
        env.update(extra_env or {})
        env["NODE_EXTRA_CA_CERTS"] = self.ca
        result = subprocess.run([NODE, os.path.join(HERE, "clients.js"), case, *args],
                                cwd=HERE, env=env, capture_output=True, text=True, timeout=300)
        if result.returncode != 0:
            raise AssertionError("node clients.js %s failed (%d): %s %s"
                                 % (case, result.returncode, result.stdout, result.stderr))
        return json.loads(result.stdout)


def load_scenario(path=DEFAULT_SCENARIO):
    with open(path, encoding="utf-8") as stream:
        return json.load(stream)


def resource_id(subscription, kind, item):
    return "/subscriptions/%s/resourceGroups/%s/providers/Microsoft.KeyVault/%s/%s" % (
        subscription["subscription_id"], item["resource_group"], kind, item["name"])


def covered(subscription, assignment, resource):
    """Whether Azure Policy evaluates `resource` under `assignment` (scope above it, no
    notScope covering it); an omitted scope is the subscription."""
    scope = assignment.get("scope") or "/subscriptions/" + subscription["subscription_id"]
    def under(outer):
        if outer.lower().startswith("/providers/microsoft.management/managementgroups/"):
            group = outer.split("/")[-1].lower()
            return group in [g.lower() for g in subscription.get("management_groups", [])]
        outer = outer.rstrip("/").lower()
        return resource.lower() == outer or resource.lower().startswith(outer + "/")
    return under(scope) and not any(under(n) for n in assignment.get("not_scopes") or [])


def expected_states(subscription):
    assignments = {a["name"]: a for a in subscription.get("policy_assignments", [])}
    states = []
    for state in subscription.get("policy_states", []):
        assignment = assignments.get(state["policy_assignment_name"])
        if assignment and covered(subscription, assignment, state["resource_id"]):
            states.append((state["resource_id"].lower(), assignment["name"].lower(),
                           state["compliance_state"]))
    return sorted(states)


@unittest.skipIf(missing_prerequisite(), missing_prerequisite() or "")
class AzureSdkFidelityTest(unittest.TestCase):
    """The default scenario, as `hsmproof sandbox` serves it without options."""

    @classmethod
    def setUpClass(cls):
        cls.scenario = load_scenario()["azure"]
        cls.sandbox = Sandbox()

    @classmethod
    def tearDownClass(cls):
        cls.sandbox.stop()

    def subscription(self, index):
        return self.scenario["subscriptions"][index]

    def test_subscriptions_seen_by_python_client_match_the_scenario(self):
        token = self.sandbox.token("https://management.azure.com/.default")
        status, headers, body = self.sandbox.http(
            "GET", "/subscriptions?api-version=2022-12-01", {"Authorization": "Bearer " + token})
        self.assertEqual(status, 200, body)
        self.assertTrue(headers.get("x-ms-request-id"))
        self.assertEqual([s["subscriptionId"] for s in json.loads(body)["value"]],
                         [s["subscription_id"] for s in self.scenario["subscriptions"]])

    def test_identity_client_secret_gets_tokens_and_a_wrong_secret_is_refused(self):
        result = self.sandbox.node("identity")
        self.assertTrue(result["token"])
        self.assertTrue(result["distinctTokens"])
        self.assertGreater(result["expiresInSeconds"], 3000)
        refused = result["wrongSecret"]
        self.assertIsNotNone(refused, "a wrong client secret got a token")
        self.assertIn(refused["name"], ("AuthenticationError", "AuthenticationRequiredError",
                                        "CredentialUnavailableError"))
        self.assertIn("AADSTS7000215", refused["message"])
        self.assertNotIn(self.sandbox.env["AZURE_CLIENT_SECRET"], refused["message"])

    def test_identity_managed_identity_through_imds(self):
        result = self.sandbox.node(
            "managed-identity", self.scenario["managed_identity_client_id"],
            extra_env={"AZURE_POD_IDENTITY_AUTHORITY_HOST": self.sandbox.env["AZURE_AUTHORITY_HOST"]})
        self.assertTrue(result["token"])
        self.assertGreater(result["expiresInSeconds"], 3000)
        self.assertEqual(result["otherIdentity"]["name"], "CredentialUnavailableError")
        self.assertIn("Identity not found", result["otherIdentity"]["message"])

    def test_arm_keyvault_pages_vaults_and_reads_keys_and_managed_hsms(self):
        subscription = self.subscription(0)
        result = self.sandbox.node("keyvault-management", subscription["subscription_id"])
        vaults = subscription["vaults"]
        self.assertGreater(len(vaults), 2, "the default scenario needs 3+ vaults to page by 2")
        self.assertEqual(len(result["vaultPageSizes"]), (len(vaults) + 1) // 2)
        self.assertTrue(all(size <= 2 for size in result["vaultPageSizes"]))
        self.assertEqual({v["name"]: v["sku"] for v in result["vaults"]},
                         {v["name"]: v.get("sku", "premium") for v in vaults})
        for vault in result["vaults"]:
            self.assertIsNone(vault["topLevelSku"])  # vault SKU lives under properties
            self.assertEqual(vault["vaultUri"], "%s/_kv/%s/" % (self.sandbox.base, vault["name"]))
        for vault in vaults:
            keys = result["keys"][vault["name"]]
            self.assertEqual([k["name"] for k in keys], [k["name"] for k in vault.get("keys", [])])
            for seen, spec in zip(keys, vault.get("keys", [])):
                self.assertIsNone(seen["listKty"])  # the list carries no kty
                self.assertEqual(seen["kty"], spec.get("kty", "RSA-HSM"))
                self.assertEqual(seen["exportable"], spec.get("exportable", False))
        hsms = {h["name"]: h for h in result["hsms"]}
        self.assertEqual(set(hsms), {h["name"] for h in subscription["managed_hsms"]})
        for spec in subscription["managed_hsms"]:
            seen = hsms[spec["name"]]
            self.assertEqual(seen["sku"], spec.get("sku", "Standard_B1"))  # top-level SKU
            self.assertIsNone(seen["propertiesSku"])
            self.assertEqual(seen["hsmUri"], "%s/_mhsm/%s/" % (self.sandbox.base, spec["name"]))
            self.assertEqual(seen["provisioningState"], spec.get("provisioning_state", "Succeeded"))
            self.assertEqual(seen["activationStatus"], spec.get("activation_status", "Active"))
            for key in result["hsmKeys"][spec["name"]]:
                self.assertIsNone(key["listKty"])
                self.assertTrue(key["kty"].endswith("-HSM"), key)

    def test_arm_policyinsights_pages_policy_states_by_post(self):
        for subscription in self.scenario["subscriptions"]:
            result = self.sandbox.node("policy-states", subscription["subscription_id"])
            expected = expected_states(subscription)
            self.assertEqual(sorted((s["resourceId"].lower(),
                                     s["policyAssignmentId"].split("/")[-1].lower(),
                                     s["complianceState"]) for s in result["states"]), expected)
            self.assertEqual(len(result["pageSizes"]), max(1, (len(expected) + 1) // 2))
            for state in result["states"]:
                self.assertEqual(state["isCompliant"], state["complianceState"] == "Compliant")
            self.assertEqual(sorted(r.lower() for r in result["nonCompliant"]),
                             sorted(s[0] for s in expected if s[2] != "Compliant"))
            for state in result["summaryStates"]:
                self.assertEqual(state, state.lower())
            if len(expected) > 2:
                # The SDK's own paging GETs the nextLink, which the service refuses.
                self.assertEqual(result["sdkGetPaging"]["code"], "HttpMethodNotSupported")

    def test_arm_monitor_8_lists_diagnostic_settings(self):
        subscription = self.subscription(0)
        items = [(resource_id(subscription, "vaults", v), v) for v in subscription["vaults"]]
        items += [(resource_id(subscription, "managedHSMs", h), h)
                  for h in subscription["managed_hsms"]]
        result = self.sandbox.node("diagnostic-settings", subscription["subscription_id"],
                                   *[rid for rid, _ in items])
        for rid, spec in items:
            seen = result["settings"][rid]
            expected = spec.get("diagnostic_settings", [])
            self.assertEqual([s["name"] for s in seen], [s["name"] for s in expected], rid)
            for got, want in zip(seen, expected):
                self.assertEqual(
                    [(log["category"], log["categoryGroup"], log["enabled"]) for log in got["logs"]],
                    [(log.get("category"), log.get("categoryGroup"), log["enabled"])
                     for log in want["properties"].get("logs", [])])

    def test_arm_policy_reads_assignments_and_initiative_members(self):
        for subscription in self.scenario["subscriptions"]:
            result = self.sandbox.node("policy-assignments", subscription["subscription_id"])
            self.assertEqual(sorted(a["name"] for a in result["assignments"]),
                             sorted(a["name"] for a in subscription.get("policy_assignments", [])))
            definitions = {d["id"].lower(): d for d in self.scenario["policy_set_definitions"]}
            for initiative in result["sets"]:
                spec = definitions[initiative["id"].lower()]
                self.assertEqual(initiative["members"],
                                 [[d["policy_definition_id"], d["reference_id"]]
                                  for d in spec["definitions"]])

    def test_keyvault_keys_get_and_sign_verify_locally(self):
        subscription = self.subscription(0)
        for kind, container in (("_kv", subscription["vaults"][0]),
                                ("_mhsm", subscription["managed_hsms"][0])):
            key = next(k for k in container["keys"] if k.get("enabled", True))
            result = self.sandbox.node("keyvault-data",
                                       "%s/%s/%s/" % (self.sandbox.base, kind, container["name"]),
                                       key["name"])
            self.assertEqual(result["name"], key["name"])
            self.assertTrue(result["keyType"].endswith("-HSM"), result)
            if key.get("kty", "RSA-HSM").startswith("RSA"):
                self.assertEqual(result["modulusBits"], key.get("key_size", 3072))
            self.assertEqual(result["exportable"], key.get("exportable", False))
            self.assertTrue(result["verified"], "the signature does not verify with the JWK")
            self.assertFalse(result["verifiedOtherData"])
            self.assertEqual(result["listedPages"], [[k["name"]] for k in container["keys"]])

    def test_key_vault_challenge_on_the_wire(self):
        vault = self.subscription(0)["vaults"][0]
        status, headers, body = self.sandbox.http(
            "GET", "/_kv/%s/keys/%s?api-version=7.6" % (vault["name"], vault["keys"][0]["name"]))
        self.assertEqual(status, 401)
        self.assertEqual(headers.get("WWW-Authenticate"),
                         'Bearer authorization="%s/%s", resource="https://vault.azure.net"'
                         % (self.sandbox.env["AZURE_AUTHORITY_HOST"],
                            self.sandbox.env["AZURE_TENANT_ID"]))
        self.assertEqual(json.loads(body), {"error": {
            "code": "Unauthorized",
            "message": "AKV10000: Request is missing a Bearer or PoP token."}})

    def test_resource_manager_errors_on_the_wire(self):
        token = self.sandbox.token("https://management.azure.com/.default")
        auth = {"Authorization": "Bearer " + token}
        sub = self.subscription(0)["subscription_id"]
        cases = [
            ("/subscriptions/%s/providers/Microsoft.KeyVault/vaults" % sub, auth, 400,
             "MissingApiVersionParameter"),
            ("/subscriptions/%s/providers/Microsoft.KeyVault/vaults?api-version=2099-01-01" % sub,
             auth, 400, "InvalidApiVersionParameter"),
            ("/subscriptions/%s/providers/Microsoft.KeyVault/vaults?api-version=2026-02-01" % sub,
             {"Authorization": "Bearer " + self.sandbox.token("https://vault.azure.net/.default")},
             401, "InvalidAuthenticationTokenAudience"),
            ("/subscriptions/00000000-0000-4000-8000-000000000000?api-version=2022-12-01", auth,
             404, "SubscriptionNotFound"),
        ]
        for path, headers, want_status, want_code in cases:
            status, response_headers, body = self.sandbox.http("GET", path, headers)
            self.assertEqual(status, want_status, path)
            self.assertEqual(json.loads(body)["error"]["code"], want_code, path)
            self.assertTrue(response_headers.get("x-ms-correlation-request-id"), path)


@unittest.skipIf(missing_prerequisite(), missing_prerequisite() or "")
class AzureNotScopesFidelityTest(unittest.TestCase):
    """A scenario whose raw evaluation has states for resources an assignment's notScopes
    exclude: no client may see them."""

    @classmethod
    def setUpClass(cls):
        scenario = load_scenario()
        subscription = scenario["azure"]["subscriptions"][0]
        assignment = next(a for a in subscription["policy_assignments"] if a.get("not_scopes"))
        excluded_group = assignment["not_scopes"][0].rstrip("/").split("/")[-1]
        cls.hidden = [resource_id(subscription, "vaults", v) for v in subscription["vaults"]
                      if v["resource_group"].lower() == excluded_group.lower()]
        assert cls.hidden, "the default scenario excludes no vault"
        cls.assignment = assignment["name"]
        for resource in cls.hidden:
            subscription["policy_states"].append({
                "resource_id": resource, "policy_assignment_name": assignment["name"],
                "policy_definition_id": assignment["policy_definition_id"],
                "compliance_state": "NonCompliant", "timestamp": "2024-05-01T12:00:00Z"})
        cls.subscription = copy.deepcopy(subscription)
        cls.directory = tempfile.TemporaryDirectory()
        path = os.path.join(cls.directory.name, "not-scopes.json")
        with open(path, "w", encoding="utf-8") as stream:
            json.dump(scenario, stream)
        cls.sandbox = Sandbox("--scenario", path)

    @classmethod
    def tearDownClass(cls):
        cls.sandbox.stop()
        cls.directory.cleanup()

    def test_excluded_resources_have_no_state(self):
        result = self.sandbox.node("policy-states", self.subscription["subscription_id"])
        seen = {(s["resourceId"].lower(), s["policyAssignmentId"].split("/")[-1])
                for s in result["states"]}
        for resource in self.hidden:
            self.assertNotIn((resource.lower(), self.assignment), seen)
        self.assertEqual(len(result["states"]), len(expected_states(self.subscription)))


if __name__ == "__main__":
    unittest.main()
