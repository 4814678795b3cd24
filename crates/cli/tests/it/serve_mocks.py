"""boto3 against `sfn serve --mock-config fixtures/mocks/MockConfigFile.json`: AWS's MockConfigFile example
(Step Functions Local's "Using mocked service integrations for testing") adapted to a Lambda state and an
ECS .sync state. Usage: serve_mocks.py URL DEFINITION_FILE. Prints one line per check; exits non-zero on
the first failure."""

import json
import sys
import time

import boto3
from botocore.config import Config

url, definition = sys.argv[1], sys.argv[2]
# inject_host_prefix=False: StartSyncExecution would otherwise go to sync-127.0.0.1.
sfn = boto3.client(
    "stepfunctions",
    endpoint_url=url,
    region_name="us-east-1",
    aws_access_key_id="local",
    aws_secret_access_key="local",
    config=Config(inject_host_prefix=False, retries={"max_attempts": 1}),
)
ROLE = "arn:aws:iam::123456789012:role/sfn"
text = open(definition).read()
arn = sfn.create_state_machine(name="LambdaECS", definition=text, roleArn=ROLE)["stateMachineArn"]


def run(case, name):
    started = sfn.start_execution(stateMachineArn=f"{arn}#{case}", name=name, input='{"name": "x"}')
    ex = started["executionArn"]
    # Step Functions Local: the execution is the machine's, without the test case.
    assert ex == arn.replace(":stateMachine:", ":execution:") + ":" + name, ex
    for _ in range(400):
        d = sfn.describe_execution(executionArn=ex)
        if d["status"] != "RUNNING":
            break
        time.sleep(0.025)
    assert d["stateMachineArn"] == arn, d["stateMachineArn"]
    events = sfn.get_execution_history(executionArn=ex, maxResults=1000)["events"]
    return d, events


MOCKED_TASK = "arn:aws:ecs:us-east-1:123456789012:task/jobs/0123456789abcdef0123456789abcdef"


def types(events):
    return [e["type"] for e in events]


d, ev = run("HappyPath", "happy")
assert d["status"] == "SUCCEEDED", d
out = json.loads(d["output"])
assert out["job"]["LastStatus"] == "STOPPED" and out["job"]["Containers"][0]["ExitCode"] == 0, out
assert types(ev).count("TaskSucceeded") == 2, types(ev)
print("happy path: SUCCEEDED with the mocked ECS task")

d, ev = run("RetryPath", "retry")
assert d["status"] == "SUCCEEDED", d
failed = [e["taskFailedEventDetails"]["error"] for e in ev if e["type"] == "TaskFailed"]
assert failed == ["Lambda.ResourceNotReadyException", "Lambda.TimeoutException", "Lambda.TimeoutException"], failed
print("retry path: responses 0, 1-2 threw, 3 returned:", failed)

d, ev = run("CatchPath", "catch")
assert d["status"] == "SUCCEEDED", d
out = json.loads(d["output"])
assert out["error"]["Error"] == "States.TaskFailed" and out["status"] == "recovered", out
cause = json.loads(out["error"]["Cause"])
assert cause["Containers"][0]["ExitCode"] == 1, cause
entered = [e["stateEnteredEventDetails"]["name"] for e in ev if "stateEnteredEventDetails" in e]
assert entered == ["LambdaState", "ECSState", "Recover"], entered
print("catch path: States.TaskFailed caught, Recover entered")

d, ev = run("HybridPath", "hybrid")
assert d["status"] == "SUCCEEDED", d
out = json.loads(d["output"])
assert out["job"]["LastStatus"] == "STOPPED" and out["job"]["TaskArn"] != MOCKED_TASK, out
print("hybrid path: the unmocked ECS state ran on the simulated backend")

listed = sfn.list_executions(stateMachineArn=arn)["executions"]
assert sorted(e["name"] for e in listed) == ["catch", "happy", "hybrid", "retry"], listed
print("list executions: the four test-case executions under the machine")

# A test case that is not in the file: a clear error naming the closest one.
try:
    sfn.start_execution(stateMachineArn=f"{arn}#HapyPath", name="bad")
    raise SystemExit("an unknown test case was accepted")
except sfn.exceptions.ClientError as e:
    msg = e.response["Error"]["Message"]
    assert e.response["Error"]["Code"] == "ValidationException" and "did you mean 'HappyPath'" in msg, msg
    print("unknown test case:", msg)

# A test case of a machine the file does not name: the error names the closest machine.
other = sfn.create_state_machine(name="LambdaECZ", definition=text, roleArn=ROLE)["stateMachineArn"]
try:
    sfn.start_execution(stateMachineArn=f"{other}#HappyPath")
    raise SystemExit("a test case of a machine that is not in the file was accepted")
except sfn.exceptions.ClientError as e:
    msg = e.response["Error"]["Message"]
    assert "did you mean 'LambdaECS'" in msg, msg
    print("test case of an unknown machine:", msg)

# StartSyncExecution on an EXPRESS machine's test case.
express_text = open(definition.replace("LambdaECS", "LambdaExpress")).read()
express = sfn.create_state_machine(name="LambdaExpress", definition=express_text, roleArn=ROLE, type="EXPRESS")
r = sfn.start_sync_execution(stateMachineArn=f"{express['stateMachineArn']}#HappyPath", input="{}")
assert r["status"] == "SUCCEEDED" and json.loads(r["output"])["body"] == "Hello from Lambda!", r
print("start sync execution: the mocked Lambda answered")
print("ok")
