// Sends requests the AWS front end must refuse, with the official AWS SDK for JavaScript v3
// clients, and prints what each refusal looked like to the SDK (error name, HTTP status, request
// id) as one JSON document.
//
// Environment: SANDBOX_ENDPOINT, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, REGION,
// NODE_EXTRA_CA_CERTS (the sandbox's CA).

import { KMSClient, ListKeysCommand } from "@aws-sdk/client-kms";
import { CloudTrailClient, DescribeTrailsCommand } from "@aws-sdk/client-cloudtrail";
import { CloudHSMV2Client, DescribeClustersCommand } from "@aws-sdk/client-cloudhsm-v2";

const endpoint = process.env.SANDBOX_ENDPOINT;
const region = process.env.REGION;
const good = {
  accessKeyId: process.env.AWS_ACCESS_KEY_ID,
  secretAccessKey: process.env.AWS_SECRET_ACCESS_KEY,
};
const wrongSecret = { ...good, secretAccessKey: `${good.secretAccessKey.slice(0, -1)}X` };
const unknownKey = { ...good, accessKeyId: "AKIAUNKNOWNKEY000000" };

// After signing, flip one hex digit of the signature: a forged request.
function forge(client) {
  client.middlewareStack.add(
    (next) => async (args) => {
      const headers = args.request.headers;
      const name = Object.keys(headers).find((h) => h.toLowerCase() === "authorization");
      const value = headers[name];
      const last = value.slice(-1);
      headers[name] = value.slice(0, -1) + (last === "0" ? "1" : "0");
      return next(args);
    },
    { step: "deserialize", name: "forgeSignature", priority: "low" },
  );
  return client;
}

async function attempt(label, client, command) {
  try {
    await client.send(command);
    return { label, ok: true };
  } catch (error) {
    return {
      label,
      ok: false,
      name: error.name,
      status: error.$metadata?.httpStatusCode ?? null,
      requestId: error.$metadata?.requestId ?? null,
      attempts: error.$metadata?.attempts ?? null,
      message: error.message,
    };
  }
}

async function main() {
  const config = (credentials) => ({ region, endpoint, credentials, maxAttempts: 1 });
  const results = [
    await attempt("kms ok", new KMSClient(config(good)), new ListKeysCommand({})),
    await attempt("kms wrong secret", new KMSClient(config(wrongSecret)), new ListKeysCommand({})),
    await attempt("kms unknown key", new KMSClient(config(unknownKey)), new ListKeysCommand({})),
    await attempt("kms forged", forge(new KMSClient(config(good))), new ListKeysCommand({})),
    await attempt(
      "cloudtrail wrong secret",
      new CloudTrailClient(config(wrongSecret)),
      new DescribeTrailsCommand({}),
    ),
    await attempt(
      "cloudtrail forged",
      forge(new CloudTrailClient(config(good))),
      new DescribeTrailsCommand({}),
    ),
    await attempt(
      "cloudhsm wrong secret",
      new CloudHSMV2Client(config(wrongSecret)),
      new DescribeClustersCommand({}),
    ),
    await attempt(
      "cloudhsm unknown key",
      new CloudHSMV2Client(config(unknownKey)),
      new DescribeClustersCommand({}),
    ),
    await attempt(
      "kms disabled region",
      new KMSClient({ ...config(good), region: process.env.DISABLED_REGION }),
      new ListKeysCommand({}),
    ),
  ];
  process.stdout.write(JSON.stringify(results));
}

main().catch((error) => {
  process.stderr.write(`${error.name}: ${error.message}\n${error.stack}\n`);
  process.exit(1);
});
