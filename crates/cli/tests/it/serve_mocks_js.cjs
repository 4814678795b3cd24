// The JavaScript v3 SDK (`@aws-sdk/client-sfn`) against `sfn serve --mock-config`: StartSyncExecution and
// TestState carry the `sync-` host prefix in AWS's API model; the client option `disableHostPrefix` turns it
// off. Usage: node serve_mocks_js.cjs URL EXPRESS_DEFINITION_FILE; prints one JSON line of what it saw.
"use strict";
const fs = require("fs");
const {
  SFNClient,
  CreateStateMachineCommand,
  StartSyncExecutionCommand,
  TestStateCommand,
} = require("@aws-sdk/client-sfn");

async function main() {
  const [url, definitionFile] = process.argv.slice(2);
  const base = { endpoint: url, region: "us-east-1", credentials: { accessKeyId: "local", secretAccessKey: "local" } };
  const prefixed = new SFNClient({ ...base, maxAttempts: 1 });
  const client = new SFNClient({ ...base, disableHostPrefix: true });
  const roleArn = "arn:aws:iam::123456789012:role/sfn";
  const created = await client.send(
    new CreateStateMachineCommand({
      name: "LambdaExpress",
      definition: fs.readFileSync(definitionFile, "utf8"),
      roleArn,
      type: "EXPRESS",
    }),
  );
  const arn = `${created.stateMachineArn}#HappyPath`;
  let prefixedError = null;
  try {
    await prefixed.send(new StartSyncExecutionCommand({ stateMachineArn: arn }));
  } catch (e) {
    prefixedError = `${e.name}: ${e.message} ${e.hostname || ""}`;
  }
  const sync = await client.send(new StartSyncExecutionCommand({ stateMachineArn: arn }));
  const test = await client.send(
    new TestStateCommand({
      definition: JSON.stringify({ Type: "Pass", QueryLanguage: "JSONata", Output: { sum: "{% 1 + $states.input.n %}" }, End: true }),
      roleArn,
      input: JSON.stringify({ n: 41 }),
    }),
  );
  process.stdout.write(
    JSON.stringify({ prefixedError, syncStatus: sync.status, syncOutput: sync.output, testStatus: test.status, testOutput: test.output }) + "\n",
  );
}

main().catch((e) => {
  process.stderr.write(`${e.stack || e}\n`);
  process.exit(1);
});
