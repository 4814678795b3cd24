"""boto3 against `sfn serve --s3 DIR --ecs sim --state-dir SD`: a Distributed Map's map run and its child
executions through the API (AWS API reference: DescribeMapRun, ListMapRuns, UpdateMapRun, ListExecutions
with mapRunArn; shapes as LocalStack's AWS-validated `test_sfn_api_map_run` records them).
Usage: serve_maprun.py URL DEFINITION_FILE run|restarted STATE_FILE. `run` creates the machine, runs it and
checks the map run, writing the ARNs it made to STATE_FILE; `restarted` checks them again after the
server was restarted on the same state directory. Exits non-zero on the first failure."""

import json
import sys
import time

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

url, definition, phase, state_file = sys.argv[1:5]
sfn = boto3.client(
    "stepfunctions",
    endpoint_url=url,
    region_name="us-east-1",
    aws_access_key_id="local",
    aws_secret_access_key="local",
    config=Config(retries={"max_attempts": 1}),
)


def code(call, **kw):
    try:
        call(**kw)
    except ClientError as e:
        return e.response["Error"]["Code"]
    raise AssertionError(f"{call.__name__} {kw} did not fail")


def children(map_run_arn, page):
    found, token = [], None
    pages = 0
    while True:
        kw = {"mapRunArn": map_run_arn, "maxResults": page}
        if token:
            kw["nextToken"] = token
        r = sfn.list_executions(**kw)
        found += r["executions"]
        pages += 1
        token = r.get("nextToken")
        if not token:
            return found, pages


def check_map_run(parent, map_run_arn):
    d = sfn.describe_map_run(mapRunArn=map_run_arn)
    assert d["status"] == "SUCCEEDED", d
    assert d["executionArn"] == parent, d
    assert d["maxConcurrency"] == 3, d
    assert (d["toleratedFailureCount"], d["toleratedFailurePercentage"]) == (0, 0.0), d
    e = d["executionCounts"]
    assert (e["total"], e["succeeded"], e["failed"], e["running"], e["pending"], e["resultsWritten"]) == (10, 10, 0, 0, 0, 10), e
    i = d["itemCounts"]
    assert (i["total"], i["succeeded"], i["resultsWritten"]) == (1000, 1000, 1000), i
    assert d["stopDate"] >= d["startDate"]
    listed, pages = children(map_run_arn, 4)
    assert (len(listed), pages) == (10, 3), (len(listed), pages)
    assert len({c["executionArn"] for c in listed}) == 10
    for c in listed:
        assert c["mapRunArn"] == map_run_arn and c["itemCount"] == 100 and c["status"] == "SUCCEEDED", c
        assert ":execution:batches/Batches:" in c["executionArn"], c
        assert c["stateMachineArn"].endswith(":stateMachine:batches/Batches"), c
    child = listed[0]["executionArn"]
    dc = sfn.describe_execution(executionArn=child)
    assert dc["mapRunArn"] == map_run_arn and dc["status"] == "SUCCEEDED", dc
    assert json.loads(dc["input"])["BatchInput"] == {"run": "r1"}, dc["input"]
    h = sfn.get_execution_history(executionArn=child)["events"]
    types = [ev["type"] for ev in h]
    assert types[0] == "ExecutionStarted" and types[-1] == "ExecutionSucceeded", types
    assert "TaskSubmitted" in types and "TaskSucceeded" in types, types
    dm = sfn.describe_state_machine_for_execution(executionArn=child)
    assert dm["mapRunArn"] == map_run_arn and dm["label"] == "Batches", dm
    return child


if phase == "run":
    arn = sfn.create_state_machine(
        name="batches", definition=open(definition).read(), roleArn="arn:aws:iam::123456789012:role/sfn"
    )["stateMachineArn"]
    parent = sfn.start_execution(stateMachineArn=arn, input='{"run": "r1"}')["executionArn"]
    for _ in range(1200):
        d = sfn.describe_execution(executionArn=parent)
        if d["status"] != "RUNNING":
            break
        time.sleep(0.05)
    assert d["status"] == "SUCCEEDED", d
    out = json.loads(d["output"])
    runs = sfn.list_map_runs(executionArn=parent)["mapRuns"]
    assert len(runs) == 1, runs
    run = runs[0]
    assert run["mapRunArn"] == out["MapRunArn"], (run, out)
    assert run["mapRunArn"].startswith("arn:aws:states:us-east-1:123456789012:mapRun:batches/Batches:"), run
    assert run["stateMachineArn"] == "arn:aws:states:us-east-1:123456789012:stateMachine:batches/Batches", run
    assert run["executionArn"] == parent and run["stopDate"] >= run["startDate"], run
    history = sfn.get_execution_history(executionArn=parent, maxResults=1000)["events"]
    started = [ev for ev in history if ev["type"] == "MapRunStarted"]
    assert started[0]["mapRunStartedEventDetails"]["mapRunArn"] == run["mapRunArn"], started
    assert "MapRunSucceeded" in [ev["type"] for ev in history]
    assert not any(ev["type"].startswith("Task") for ev in history), "the tasks are in the children's histories"
    child = check_map_run(parent, run["mapRunArn"])
    # The children are the map run's, not the machine's.
    listed = sfn.list_executions(stateMachineArn=arn)["executions"]
    assert [e["executionArn"] for e in listed] == [parent], listed
    assert "mapRunArn" not in listed[0] and "itemCount" not in listed[0], listed[0]
    # UpdateMapRun, then DescribeMapRun shows it.
    sfn.update_map_run(mapRunArn=run["mapRunArn"], maxConcurrency=7, toleratedFailurePercentage=12.5)
    d = sfn.describe_map_run(mapRunArn=run["mapRunArn"])
    assert (d["maxConcurrency"], d["toleratedFailurePercentage"]) == (7, 12.5), d
    sfn.update_map_run(mapRunArn=run["mapRunArn"], maxConcurrency=3, toleratedFailurePercentage=0)
    # AWS's errors.
    missing = run["mapRunArn"].rsplit(":", 1)[0] + ":00000000-0000-0000-0000-000000000000"
    assert code(sfn.describe_map_run, mapRunArn=missing) == "ResourceNotFound"
    assert code(sfn.describe_map_run, mapRunArn="arn:aws:states:us-east-1:123456789012:execution:batches:x") == "InvalidArn"
    assert code(sfn.describe_map_run, mapRunArn="not-an-arn") == "InvalidArn"
    assert code(sfn.update_map_run, mapRunArn=missing, maxConcurrency=1) == "ResourceNotFound"
    assert code(sfn.list_executions, stateMachineArn=arn, mapRunArn=run["mapRunArn"]) == "ValidationException"
    assert code(sfn.list_executions, mapRunArn=missing) == "ResourceNotFound"
    assert code(sfn.list_map_runs, executionArn=parent + "x") == "ExecutionDoesNotExist"
    assert code(sfn.redrive_execution, executionArn=child) == "ExecutionNotRedrivable"
    json.dump({"parent": parent, "mapRun": run["mapRunArn"]}, open(state_file, "w"))
else:
    saved = json.load(open(state_file))
    runs = sfn.list_map_runs(executionArn=saved["parent"])["mapRuns"]
    assert [r["mapRunArn"] for r in runs] == [saved["mapRun"]], runs
    check_map_run(saved["parent"], saved["mapRun"])
print("ok")
