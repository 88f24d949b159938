// Reads the sandbox's AWS state with the official AWS SDK for JavaScript v3 clients, through
// their paginators, and prints it as one JSON document for test_aws_fidelity.py to compare with
// the scenario.
//
// Environment: SANDBOX_ENDPOINT, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, [AWS_SESSION_TOKEN],
// REGIONS (comma-separated), SIGN_REGION + SIGN_KEY (a key id or alias), MEMBER_ROLE_ARN and
// MEMBER_REGION (optional: assume a role in another account and list its keys there),
// NODE_EXTRA_CA_CERTS (the sandbox's CA).

import {
  KMSClient,
  paginateListKeys,
  paginateListAliases,
  DescribeKeyCommand,
  GetPublicKeyCommand,
  SignCommand,
} from "@aws-sdk/client-kms";
import {
  CloudTrailClient,
  DescribeTrailsCommand,
  GetTrailStatusCommand,
  GetEventSelectorsCommand,
} from "@aws-sdk/client-cloudtrail";
import { CloudHSMV2Client, paginateDescribeClusters } from "@aws-sdk/client-cloudhsm-v2";
import { STSClient, GetCallerIdentityCommand, AssumeRoleCommand } from "@aws-sdk/client-sts";

const endpoint = process.env.SANDBOX_ENDPOINT;
const credentials = {
  accessKeyId: process.env.AWS_ACCESS_KEY_ID,
  secretAccessKey: process.env.AWS_SECRET_ACCESS_KEY,
  ...(process.env.AWS_SESSION_TOKEN ? { sessionToken: process.env.AWS_SESSION_TOKEN } : {}),
};
const regions = process.env.REGIONS.split(",");

// Each client counts the requests it sends, so the test can tell that paging took several pages.
function counted(client) {
  const counter = { requests: 0 };
  client.middlewareStack.add(
    (next) => async (args) => {
      counter.requests += 1;
      return next(args);
    },
    { step: "finalizeRequest", name: "countRequests" },
  );
  return [client, counter];
}

async function readRegion(region) {
  const [kms, kmsCount] = counted(new KMSClient({ region, endpoint, credentials }));
  const keys = [];
  for await (const page of paginateListKeys({ client: kms, pageSize: 2 }, {})) {
    for (const key of page.Keys ?? []) keys.push(key);
  }
  const keyPages = kmsCount.requests;
  const aliases = [];
  for await (const page of paginateListAliases({ client: kms, pageSize: 3 }, {})) {
    for (const alias of page.Aliases ?? []) aliases.push(alias);
  }
  const metadata = {};
  for (const key of keys) {
    const answer = await kms.send(new DescribeKeyCommand({ KeyId: key.KeyId }));
    const m = answer.KeyMetadata;
    metadata[key.KeyId] = {
      Arn: m.Arn,
      KeySpec: m.KeySpec,
      KeyUsage: m.KeyUsage,
      KeyState: m.KeyState,
      Origin: m.Origin,
      KeyManager: m.KeyManager,
      Enabled: m.Enabled,
      Description: m.Description,
      CreationDate: m.CreationDate instanceof Date ? m.CreationDate.getTime() / 1000 : null,
    };
  }

  const [trailClient] = counted(new CloudTrailClient({ region, endpoint, credentials }));
  const described = await trailClient.send(new DescribeTrailsCommand({ includeShadowTrails: true }));
  const trails = [];
  for (const trail of described.trailList ?? []) {
    const status = await trailClient.send(new GetTrailStatusCommand({ Name: trail.TrailARN }));
    // Shadow trails answer GetEventSelectors in their home region.
    const homeClient =
      trail.HomeRegion === region
        ? trailClient
        : new CloudTrailClient({ region: trail.HomeRegion, endpoint, credentials });
    const selectors = await homeClient.send(new GetEventSelectorsCommand({ TrailName: trail.TrailARN }));
    trails.push({
      Name: trail.Name,
      TrailARN: trail.TrailARN,
      HomeRegion: trail.HomeRegion,
      IsMultiRegionTrail: trail.IsMultiRegionTrail,
      IsLogging: status.IsLogging,
      EventSelectors: selectors.EventSelectors ?? null,
      AdvancedEventSelectors: selectors.AdvancedEventSelectors ?? null,
    });
  }

  const [hsm, hsmCount] = counted(new CloudHSMV2Client({ region, endpoint, credentials }));
  const clusters = [];
  for await (const page of paginateDescribeClusters({ client: hsm, pageSize: 1 }, {})) {
    for (const cluster of page.Clusters ?? []) {
      clusters.push({
        ClusterId: cluster.ClusterId,
        State: cluster.State,
        Mode: cluster.Mode ?? null,
        HsmType: cluster.HsmType,
        CreateTimestampIsDate: cluster.CreateTimestamp instanceof Date,
        Hsms: (cluster.Hsms ?? []).map((h) => ({
          HsmId: h.HsmId,
          State: h.State,
          AvailabilityZone: h.AvailabilityZone,
        })),
      });
    }
  }
  return { keys, keyPages, aliases, metadata, trails, clusters, clusterPages: hsmCount.requests };
}

async function signWith(region, keyId) {
  const kms = new KMSClient({ region, endpoint, credentials });
  const publicKey = await kms.send(new GetPublicKeyCommand({ KeyId: keyId }));
  const message = Buffer.from("signed by @aws-sdk/client-kms through the hsmproof sandbox");
  const signatures = {};
  for (const algorithm of publicKey.SigningAlgorithms ?? []) {
    const answer = await kms.send(
      new SignCommand({ KeyId: keyId, Message: message, MessageType: "RAW", SigningAlgorithm: algorithm }),
    );
    signatures[algorithm] = Buffer.from(answer.Signature).toString("base64");
  }
  return {
    keyArn: publicKey.KeyId,
    keySpec: publicKey.KeySpec,
    publicKey: Buffer.from(publicKey.PublicKey).toString("base64"),
    message: message.toString("base64"),
    signatures,
  };
}

async function main() {
  const out = { regions: {} };
  for (const region of regions) out.regions[region] = await readRegion(region);
  const sts = new STSClient({ region: regions[0], endpoint, credentials });
  const identity = await sts.send(new GetCallerIdentityCommand({}));
  out.identity = { Account: identity.Account, Arn: identity.Arn, UserId: identity.UserId };
  if (process.env.SIGN_KEY) {
    out.signing = await signWith(process.env.SIGN_REGION ?? regions[0], process.env.SIGN_KEY);
  }
  if (process.env.MEMBER_ROLE_ARN) {
    const assumed = await sts.send(
      new AssumeRoleCommand({
        RoleArn: process.env.MEMBER_ROLE_ARN,
        RoleSessionName: "sdk-fidelity",
        ExternalId: "hsmproof-ca-0001",
      }),
    );
    const session = {
      accessKeyId: assumed.Credentials.AccessKeyId,
      secretAccessKey: assumed.Credentials.SecretAccessKey,
      sessionToken: assumed.Credentials.SessionToken,
    };
    const memberRegion = process.env.MEMBER_REGION ?? regions[0];
    const memberSts = new STSClient({ region: memberRegion, endpoint, credentials: session });
    const memberIdentity = await memberSts.send(new GetCallerIdentityCommand({}));
    const memberKms = new KMSClient({ region: memberRegion, endpoint, credentials: session });
    const memberKeys = [];
    for await (const page of paginateListKeys({ client: memberKms }, {})) {
      for (const key of page.Keys ?? []) memberKeys.push(key.KeyArn);
    }
    out.member = {
      Account: memberIdentity.Account,
      Arn: memberIdentity.Arn,
      ExpirationIsDate: assumed.Credentials.Expiration instanceof Date,
      keys: memberKeys,
    };
  }
  process.stdout.write(JSON.stringify(out));
}

main().catch((error) => {
  process.stderr.write(`${error.name}: ${error.message}\n${error.stack}\n`);
  process.exit(1);
});
