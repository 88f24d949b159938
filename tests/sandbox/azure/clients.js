// Third-party Azure SDK clients against a running `hsmproof sandbox`. Usage:
//   node clients.js <case> [subscriptionId]
// Reads AZURE_TENANT_ID, AZURE_CLIENT_ID, AZURE_CLIENT_SECRET, AZURE_AUTHORITY_HOST and
// AZURE_RESOURCE_MANAGER_ENDPOINT (as the sandbox prints them; NODE_EXTRA_CA_CERTS trusts its CA)
// and prints one JSON object with what the clients saw, for test_azure_fidelity.py to check.
"use strict";

const crypto = require("node:crypto");
const { ClientSecretCredential } = require("@azure/identity");

const env = process.env;
const base = env.AZURE_RESOURCE_MANAGER_ENDPOINT;

function credential(secret = env.AZURE_CLIENT_SECRET) {
  return new ClientSecretCredential(env.AZURE_TENANT_ID, env.AZURE_CLIENT_ID, secret, {
    authorityHost: env.AZURE_AUTHORITY_HOST,
    disableInstanceDiscovery: true,
  });
}

function errorSummary(error) {
  return {
    name: error.name,
    message: String(error.message),
    statusCode: error.statusCode ?? error.response?.status ?? null,
    code: error.code ?? error.details?.error?.code ?? null,
  };
}

// A model property, whether the SDK flattened `properties` into the model or not.
function prop(model, name) {
  return model?.[name] ?? model?.properties?.[name] ?? null;
}

// Pages of a paged iterator, as arrays.
async function pages(iterator, settings) {
  const result = [];
  for await (const page of iterator.byPage(settings)) result.push(page);
  return result;
}

async function identity() {
  const token = await credential().getToken("https://management.azure.com/.default");
  const vaultToken = await credential().getToken("https://vault.azure.net/.default");
  let wrongSecret = null;
  try {
    await credential("not-the-secret").getToken("https://management.azure.com/.default");
  } catch (error) {
    wrongSecret = errorSummary(error);
  }
  return {
    token: token.token.length > 0,
    expiresInSeconds: Math.round((token.expiresOnTimestamp - Date.now()) / 1000),
    distinctTokens: token.token !== vaultToken.token,
    wrongSecret,
  };
}

// IMDS through AZURE_POD_IDENTITY_AUTHORITY_HOST (set by the caller to the sandbox's address).
async function managedIdentity(managedIdentityClientId) {
  const { ManagedIdentityCredential } = require("@azure/identity");
  const token = await new ManagedIdentityCredential({ clientId: managedIdentityClientId }).getToken(
    "https://management.azure.com/.default",
  );
  let otherIdentity = null;
  try {
    await new ManagedIdentityCredential({ clientId: "00000000-0000-4000-8000-000000000000" })
      .getToken("https://management.azure.com/.default");
  } catch (error) {
    otherIdentity = errorSummary(error);
  }
  return {
    token: token.token.length > 0,
    expiresInSeconds: Math.round((token.expiresOnTimestamp - Date.now()) / 1000),
    otherIdentity,
  };
}

async function keyvaultManagement(subscriptionId) {
  const { KeyVaultManagementClient } = require("@azure/arm-keyvault");
  // No scope pinned: with a custom endpoint this client asks for "{endpoint}/.default".
  const client = new KeyVaultManagementClient(credential(), subscriptionId, { endpoint: base });
  const vaultPages = await pages(client.vaults.listBySubscription({ top: 2 }));
  const vaults = vaultPages.flat().map((vault) => ({
    name: vault.name,
    id: vault.id,
    resourceGroup: vault.id.split("/")[4],
    sku: vault.properties?.sku?.name ?? null,
    topLevelSku: vault.sku ?? null,
    vaultUri: vault.properties?.vaultUri ?? null,
  }));
  const keys = {};
  for (const vault of vaults) {
    const list = (await pages(client.keys.list(vault.resourceGroup, vault.name))).flat();
    keys[vault.name] = [];
    for (const item of list) {
      const full = await client.keys.get(vault.resourceGroup, vault.name, item.name);
      keys[vault.name].push({
        name: item.name,
        listKty: prop(item, "kty"),
        kty: prop(full, "kty"),
        keySize: prop(full, "keySize"),
        exportable: prop(full, "attributes")?.exportable ?? null,
      });
    }
  }
  const hsms = (await pages(client.managedHsms.listBySubscription())).flat().map((hsm) => ({
    name: hsm.name,
    resourceGroup: hsm.id.split("/")[4],
    sku: hsm.sku?.name ?? null,
    propertiesSku: hsm.properties?.sku ?? null,
    hsmUri: hsm.properties?.hsmUri ?? null,
    provisioningState: hsm.properties?.provisioningState ?? null,
    activationStatus: hsm.properties?.securityDomainProperties?.activationStatus ?? null,
  }));
  const hsmKeys = {};
  for (const hsm of hsms) {
    const list = (await pages(client.managedHsmKeys.list(hsm.resourceGroup, hsm.name))).flat();
    hsmKeys[hsm.name] = [];
    for (const item of list) {
      const full = await client.managedHsmKeys.get(hsm.resourceGroup, hsm.name, item.name);
      hsmKeys[hsm.name].push({ name: item.name, listKty: prop(item, "kty"), kty: prop(full, "kty") });
    }
  }
  return { vaultPageSizes: vaultPages.map((page) => page.length), vaults, keys, hsms, hsmKeys };
}

async function policyStates(subscriptionId) {
  const { PolicyInsightsClient, getContinuationToken } = require("@azure/arm-policyinsights");
  const client = new PolicyInsightsClient(credential(), subscriptionId, {
    endpoint: base,
    credentialScopes: ["https://management.azure.com/.default"],
  });
  // The service wants the @odata.nextLink POSTed; this SDK GETs it (azure-rest-api-specs issue
  // 15136), so page by hand: POST again with the link's $skiptoken, as the service expects.
  const pageSizes = [];
  const states = [];
  let skipToken;
  for (let guard = 0; guard < 100; ++guard) {
    const iterator = client.policyStates.listQueryResultsForSubscription("latest", subscriptionId, {
      queryOptions: { top: 2, skipToken },
    });
    const { value: page } = await iterator.byPage().next();
    pageSizes.push(page.length);
    for (const state of page) {
      states.push({
        resourceId: state.resourceId,
        policyAssignmentId: state.policyAssignmentId,
        policyDefinitionId: state.policyDefinitionId,
        complianceState: state.complianceState,
        isCompliant: state.isCompliant,
      });
    }
    const nextLink = getContinuationToken(page);
    if (!nextLink) break;
    skipToken = new URL(nextLink).searchParams.get("$skiptoken");
  }
  let sdkGetPaging = null;
  try {
    await pages(
      client.policyStates.listQueryResultsForSubscription("latest", subscriptionId, {
        queryOptions: { top: 2 },
      }),
    );
  } catch (error) {
    sdkGetPaging = errorSummary(error);
  }
  const filtered = (
    await pages(
      client.policyStates.listQueryResultsForSubscription("latest", subscriptionId, {
        queryOptions: { filter: "IsCompliant eq false" },
      }),
    )
  ).flat();
  const summary = await client.policyStates.summarizeForSubscription("latest", subscriptionId);
  return {
    pageSizes,
    states,
    sdkGetPaging,
    nonCompliant: filtered.map((state) => state.resourceId),
    summaryStates: summary.value[0].results.resourceDetails.map((detail) => detail.complianceState),
  };
}

async function diagnosticSettings(subscriptionId, resourceIds) {
  const { MonitorClient } = require("@azure/arm-monitor");
  const client = new MonitorClient(credential(), subscriptionId, { endpoint: base });
  const settings = {};
  for (const resourceId of resourceIds) {
    const list = (await pages(client.diagnosticSettings.list(resourceId))).flat();
    settings[resourceId] = list.map((setting) => ({
      name: setting.name,
      logs: (setting.logs ?? setting.properties?.logs ?? []).map((log) => ({
        category: log.category ?? null,
        categoryGroup: log.categoryGroup ?? null,
        enabled: log.enabled,
      })),
    }));
  }
  return { settings };
}

async function policyAssignments(subscriptionId) {
  const { PolicyClient } = require("@azure/arm-policy");
  const client = new PolicyClient(credential(), subscriptionId, {
    endpoint: base,
    credentialScopes: ["https://management.azure.com/.default"],
  });
  const assignments = (await pages(client.policyAssignments.list({ filter: "atScope()" }))).flat();
  const sets = [];
  for (const assignment of assignments) {
    if (!/policySetDefinitions/i.test(assignment.policyDefinitionId)) continue;
    const parts = assignment.policyDefinitionId.split("/");
    const name = parts[parts.length - 1];
    const group = /managementGroups/i.test(assignment.policyDefinitionId) ? parts[4] : null;
    const set = group
      ? await client.policySetDefinitions.getAtManagementGroup(group, name)
      : await client.policySetDefinitions.get(name);
    sets.push({
      id: set.id,
      members: set.policyDefinitions.map((member) => [
        member.policyDefinitionId,
        member.policyDefinitionReferenceId,
      ]),
    });
  }
  return {
    assignments: assignments.map((assignment) => ({
      name: assignment.name,
      scope: assignment.scope,
      policyDefinitionId: assignment.policyDefinitionId,
      notScopes: assignment.notScopes ?? [],
    })),
    sets,
  };
}

function base64url(bytes) {
  return Buffer.from(bytes).toString("base64url");
}

async function keyvaultData(vaultUri, keyName) {
  const { KeyClient, CryptographyClient } = require("@azure/keyvault-keys");
  const options = { disableChallengeResourceVerification: true };
  const keyClient = new KeyClient(vaultUri, credential(), options);
  const key = await keyClient.getKey(keyName);
  const listed = [];
  for await (const page of keyClient.listPropertiesOfKeys().byPage({ maxPageSize: 1 })) {
    listed.push(page.map((properties) => properties.name));
  }
  const cryptography = new CryptographyClient(key, credential(), options);
  const data = Buffer.from("hsmproof evidence bundle digest");
  const rsa = key.keyType.startsWith("RSA");
  const algorithm = rsa ? "RS256" : "ES256";
  const signed = await cryptography.signData(algorithm, data);
  const jwk = rsa
    ? { kty: "RSA", n: base64url(key.key.n), e: base64url(key.key.e) }
    : { kty: "EC", crv: key.key.crv, x: base64url(key.key.x), y: base64url(key.key.y) };
  const publicKey = crypto.createPublicKey({ key: jwk, format: "jwk" });
  const verify = (payload) =>
    crypto.verify("sha256", payload, rsa ? publicKey : { key: publicKey, dsaEncoding: "ieee-p1363" },
                  Buffer.from(signed.result));
  return {
    id: key.id,
    name: key.name,
    keyType: key.keyType,
    exportable: key.properties.exportable ?? null,
    hsmPlatform: key.properties.hsmPlatform ?? null,
    modulusBits: rsa ? Buffer.from(key.key.n).length * 8 : null,
    listedPages: listed,
    signatureAlgorithm: signed.algorithm,
    verified: verify(data),
    verifiedOtherData: verify(Buffer.from("something else")),
  };
}

const cases = {
  identity: () => identity(),
  "managed-identity": (clientId) => managedIdentity(clientId),
  "keyvault-management": (subscriptionId) => keyvaultManagement(subscriptionId),
  "policy-states": (subscriptionId) => policyStates(subscriptionId),
  "diagnostic-settings": (subscriptionId, ...resourceIds) =>
    diagnosticSettings(subscriptionId, resourceIds),
  "policy-assignments": (subscriptionId) => policyAssignments(subscriptionId),
  "keyvault-data": (vaultUri, keyName) => keyvaultData(vaultUri, keyName),
};

const [name, ...args] = process.argv.slice(2);
if (!cases[name]) {
  console.error(`unknown case '${name}'; one of ${Object.keys(cases).join(", ")}`);
  process.exit(2);
}
cases[name](...args).then(
  (result) => process.stdout.write(JSON.stringify(result) + "\n"),
  (error) => {
    process.stdout.write(JSON.stringify({ failure: errorSummary(error), stack: error.stack }) + "\n");
    process.exit(1);
  },
);
