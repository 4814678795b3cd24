"""boto3 against `sfn serve`: create, start, describe, history, stop, callbacks, errors, pagination,
versions, aliases, redrive and activities (worker threads polling GetActivityTask).

Usage: python boto3_client.py http://127.0.0.1:PORT   (run by the `boto3` integration test)
Exits non-zero on the first failed check.
"""

import json
import sys
import threading
import time

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

ROLE = "arn:aws:iam::123456789012:role/StepFunctionsRole"
PASS = {"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": {"a": 1}, "End": True}}}
WAIT = {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 30, "End": True}}}


def callback(timeout):
    return {"StartAt": "Wait for worker", "States": {"Wait for worker": {
        "Type": "Task",
        "Resource": "arn:aws:states:::ecs:runTask.waitForTaskToken",
        "Parameters": {
            "Cluster": "default",
            "TaskDefinition": "worker",
            "Overrides": {"ContainerOverrides": [{"Name": "app", "Environment": [
                {"Name": "TASK_TOKEN", "Value.$": "$$.Task.Token"}]}]},
        },
        "TimeoutSeconds": timeout,
        "End": True,
    }}}


def client(endpoint):
    # inject_host_prefix=False: StartSyncExecution would otherwise go to sync-127.0.0.1.
    config = Config(inject_host_prefix=False, retries={"max_attempts": 1})
    return boto3.client("stepfunctions", endpoint_url=endpoint, region_name="us-east-1",
                        aws_access_key_id="AKIDLOCAL", aws_secret_access_key="local", config=config)


def expect_error(code, fn, **kwargs):
    try:
        fn(**kwargs)
    except ClientError as e:
        got = e.response["Error"]["Code"]
        assert got == code, f"expected {code}, got {got}: {e}"
        assert e.response["ResponseMetadata"]["HTTPStatusCode"] == 400, e.response
        return e.response["Error"]["Message"]
    raise AssertionError(f"expected {code}, got success")


def wait(sfn, arn):
    for _ in range(400):
        d = sfn.describe_execution(executionArn=arn)
        if d["status"] != "RUNNING":
            return d
        time.sleep(0.025)
    raise AssertionError(f"{arn} still RUNNING")


def token_of(sfn, arn):
    for _ in range(400):
        events = sfn.get_execution_history(executionArn=arn)["events"]
        if any(e["type"] == "TaskSubmitted" for e in events):
            scheduled = next(e for e in events if e["type"] == "TaskScheduled")
            params = json.loads(scheduled["taskScheduledEventDetails"]["parameters"])
            return params["Overrides"]["ContainerOverrides"][0]["Environment"][0]["Value"]
        time.sleep(0.025)
    raise AssertionError(f"{arn} never submitted its task")


def run_task(pattern, command):
    return json.dumps({"Type": "Task", "Resource": "arn:aws:states:::ecs:runTask" + pattern, "Parameters": {
        "TaskDefinition": "job", "Overrides": {"ContainerOverrides": [{"Name": "app", "Command": command}]}},
        "Retry": [{"ErrorEquals": ["States.TaskFailed"], "MaxAttempts": 1}],
        "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Handle"}], "Next": "After"})


def nth_token(sfn, arn, n):
    """The token of the n-th task the execution submitted (1-based), once it is."""
    for _ in range(400):
        events = sfn.get_execution_history(executionArn=arn)["events"]
        if sum(e["type"] == "TaskSubmitted" for e in events) >= n:
            scheduled = [e for e in events if e["type"] == "TaskScheduled"][n - 1]
            params = json.loads(scheduled["taskScheduledEventDetails"]["parameters"])
            return params["Overrides"]["ContainerOverrides"][0]["Environment"][0]["Value"]
        time.sleep(0.025)
    raise AssertionError(f"{arn} never submitted task {n}")


def versions_aliases_redrive(sfn):
    """Publish a version, create an alias, start on the alias; fail an execution, redrive it."""
    checks = 0
    v1 = sfn.create_state_machine(name="versioned", definition=json.dumps(PASS), roleArn=ROLE,
                                  publish=True, versionDescription="first")["stateMachineVersionArn"]
    base = v1.rsplit(":", 1)[0]
    assert v1.endswith(":versioned:1"), v1
    changed = {"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": {"a": 2}, "End": True}}}
    rev = sfn.update_state_machine(stateMachineArn=base, definition=json.dumps(changed))["revisionId"]
    v2 = sfn.publish_state_machine_version(stateMachineArn=base, revisionId=rev)["stateMachineVersionArn"]
    assert v2 == base + ":2", v2
    listed = sfn.list_state_machine_versions(stateMachineArn=base)["stateMachineVersions"]
    assert [v["stateMachineVersionArn"] for v in listed] == [v2, v1], listed
    assert sfn.describe_state_machine(stateMachineArn=v1)["description"] == "first"
    checks += 4
    alias = sfn.create_state_machine_alias(
        name="live", routingConfiguration=[{"stateMachineVersionArn": v1, "weight": 100}])["stateMachineAliasArn"]
    assert alias == base + ":live", alias
    d = wait(sfn, sfn.start_execution(stateMachineArn=alias)["executionArn"])
    assert json.loads(d["output"]) == {"a": 1}, d
    assert d["stateMachineAliasArn"] == alias and d["stateMachineVersionArn"] == v1, d
    sfn.update_state_machine_alias(stateMachineAliasArn=alias,
                                   routingConfiguration=[{"stateMachineVersionArn": v2, "weight": 100}])
    d = wait(sfn, sfn.start_execution(stateMachineArn=alias)["executionArn"])
    assert json.loads(d["output"]) == {"a": 2} and d["stateMachineVersionArn"] == v2, d
    assert [a["stateMachineAliasArn"] for a in sfn.list_state_machine_aliases(stateMachineArn=base)[
        "stateMachineAliases"]] == [alias]
    expect_error("ConflictException", sfn.delete_state_machine_version, stateMachineVersionArn=v2)
    sfn.delete_state_machine_alias(stateMachineAliasArn=alias)
    sfn.delete_state_machine_version(stateMachineVersionArn=v2)
    expect_error("ResourceNotFound", sfn.describe_state_machine_alias, stateMachineAliasArn=alias)
    checks += 6

    # Fail, redrive, succeed from the failed state.
    flaky = {"StartAt": "Prepare", "States": {
        "Prepare": {"Type": "Pass", "Result": "prepared", "ResultPath": "$.prep", "Next": "Wait for worker"},
        "Wait for worker": dict(callback(60)["States"]["Wait for worker"], ResultPath="$.work")}}
    arn = sfn.create_state_machine(name="flaky", definition=json.dumps(flaky), roleArn=ROLE)["stateMachineArn"]
    execution = sfn.start_execution(stateMachineArn=arn, input='{"n": 1}')["executionArn"]
    sfn.send_task_failure(taskToken=nth_token(sfn, execution, 1), error="Flaky", cause="first try")
    d = wait(sfn, execution)
    assert d["status"] == "FAILED" and d["redriveStatus"] == "REDRIVABLE", d
    sfn.redrive_execution(executionArn=execution)
    sfn.send_task_success(taskToken=nth_token(sfn, execution, 2), output='{"ok": true}')
    d = wait(sfn, execution)
    assert d["status"] == "SUCCEEDED" and d["redriveCount"] == 1, d
    assert json.loads(d["output"]) == {"n": 1, "prep": "prepared", "work": {"ok": True}}, d
    events = sfn.get_execution_history(executionArn=execution)["events"]
    types = [e["type"] for e in events]
    assert types.count("PassStateEntered") == 1 and "ExecutionRedriven" in types, types
    redriven = next(e for e in events if e["type"] == "ExecutionRedriven")
    assert redriven["executionRedrivenEventDetails"] == {"redriveCount": 1}, redriven
    expect_error("ExecutionNotRedrivable", sfn.redrive_execution, executionArn=execution)
    checks += 5

    # A Distributed Map redriven redrives its map run: the failed child is redriven, not restarted
    # (AWS, "Redriving Map Runs"). `Parse` fails until the child is redriven ($$.Execution.RedriveCount).
    parse = {"Type": "Pass", "End": True, "Parameters": {
        "v.$": "States.StringToJson(States.ArrayGetItem($, $$.Execution.RedriveCount))"}}
    dmap = {"StartAt": "Each", "States": {"Each": {"Type": "Map", "MaxConcurrency": 1, "End": True,
        "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                          "StartAt": "Parse", "States": {"Parse": parse}}}}}
    arn = sfn.create_state_machine(name="redrive-map", definition=json.dumps(dmap), roleArn=ROLE)["stateMachineArn"]
    execution = sfn.start_execution(stateMachineArn=arn, input=json.dumps([["1"], ["oops", "2"]]))["executionArn"]
    assert wait(sfn, execution)["status"] == "FAILED"
    run = sfn.list_map_runs(executionArn=execution)["mapRuns"][0]["mapRunArn"]
    sfn.redrive_execution(executionArn=execution)
    d = wait(sfn, execution)
    assert d["status"] == "SUCCEEDED" and json.loads(d["output"]) == [{"v": 1}, {"v": 2}], d
    m = sfn.describe_map_run(mapRunArn=run)
    assert m["status"] == "SUCCEEDED" and m["redriveCount"] == 1 and "redriveDate" in m, m
    assert m["executionCounts"]["succeeded"] == 2 and m["executionCounts"]["pendingRedrive"] == 0, m
    children = sfn.list_executions(mapRunArn=run)["executions"]
    assert sorted(c["redriveCount"] for c in children) == [0, 1], children
    events = sfn.get_execution_history(executionArn=execution)["events"]
    redriven = next(e for e in events if e["type"] == "MapRunRedriven")
    assert redriven["mapRunRedrivenEventDetails"] == {"mapRunArn": run, "redriveCount": 1}, redriven
    checks += 5

    # Activities: create (idempotent), describe, list, delete.
    activity = sfn.create_activity(name="resize")["activityArn"]
    assert sfn.create_activity(name="resize")["activityArn"] == activity
    assert sfn.describe_activity(activityArn=activity)["name"] == "resize"
    assert [a["activityArn"] for a in sfn.list_activities()["activities"]] == [activity]
    sfn.delete_activity(activityArn=activity)
    expect_error("ActivityDoesNotExist", sfn.describe_activity, activityArn=activity)
    checks += 4
    return checks


def activity_task(arn, **fields):
    return {"StartAt": "ActivityTask", "States": {"ActivityTask": {"Type": "Task", "Resource": arn, **fields}}}


def worker(endpoint, arn, name, act):
    """An activity worker on its own thread: one GetActivityTask (long poll), then `act(sfn, token, input)`."""
    def run():
        # GetActivityTask holds the request up to 60 s: AWS asks workers for a socket timeout above 65 s.
        config = Config(inject_host_prefix=False, retries={"max_attempts": 1}, read_timeout=70)
        sfn = boto3.client("stepfunctions", endpoint_url=endpoint, region_name="us-east-1",
                           aws_access_key_id="AKIDLOCAL", aws_secret_access_key="local", config=config)
        task = sfn.get_activity_task(activityArn=arn, workerName=name)
        try:
            act(sfn, task["taskToken"], json.loads(task["input"]))
        except Exception as e:  # reported by the main thread
            result["error"] = repr(e)
    result = {}
    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t, result


def links(history):
    return [(h["type"], h["id"], h["previousEventId"]) for h in history]


def activities(sfn, endpoint):
    """An activity worker thread takes the task and completes it; a failure caught by a Catch; a heartbeat
    timeout. Histories as LocalStack's AWS-validated activities/test_activities.snapshot.json records them."""
    checks = 0
    arn = sfn.create_activity(name="resize")["activityArn"]
    assert arn == "arn:aws:states:us-east-1:123456789012:activity:resize", arn
    assert sfn.describe_activity(activityArn=arn)["name"] == "resize"

    # Success: the worker's output is the state's.
    def succeed(w, token, task_input):
        w.send_task_success(taskToken=token, output=json.dumps({"resized": task_input["size"] * 2}))
    m = sfn.create_state_machine(name="act-ok", roleArn=ROLE, definition=json.dumps(
        activity_task(arn, Parameters={"size.$": "$.size"}, End=True)))["stateMachineArn"]
    t, result = worker(endpoint, arn, "w1", succeed)
    ex = sfn.start_execution(stateMachineArn=m, input='{"size": 21}')["executionArn"]
    t.join(30)
    assert not result, result
    d = wait(sfn, ex)
    assert d["status"] == "SUCCEEDED" and json.loads(d["output"]) == {"resized": 42}, d
    h = sfn.get_execution_history(executionArn=ex)["events"]
    assert links(h) == [("ExecutionStarted", 1, 0), ("TaskStateEntered", 2, 0), ("ActivityScheduled", 3, 2),
                        ("ActivityStarted", 4, 3), ("ActivitySucceeded", 5, 4), ("TaskStateExited", 6, 5),
                        ("ExecutionSucceeded", 7, 6)], links(h)
    assert h[2]["activityScheduledEventDetails"] == {
        "resource": arn, "input": '{"size":21}', "inputDetails": {"truncated": False}}, h[2]
    assert h[3]["activityStartedEventDetails"] == {"workerName": "w1"}, h[3]
    assert json.loads(h[4]["activitySucceededEventDetails"]["output"]) == {"resized": 42}, h[4]
    checks += 5

    # SendTaskFailure, caught by a Catch.
    def fail(w, token, _):
        w.send_task_failure(taskToken=token, error="Worker.Broke", cause="disk full")
    m = sfn.create_state_machine(name="act-fail", roleArn=ROLE, definition=json.dumps({
        "StartAt": "ActivityTask", "States": {
            "ActivityTask": {"Type": "Task", "Resource": arn, "End": True, "Catch": [
                {"ErrorEquals": ["Worker.Broke"], "ResultPath": "$.failure", "Next": "Handled"}]},
            "Handled": {"Type": "Pass", "End": True}}}))["stateMachineArn"]
    t, result = worker(endpoint, arn, "w2", fail)
    ex = sfn.start_execution(stateMachineArn=m, input='{"job": 1}')["executionArn"]
    t.join(30)
    assert not result, result
    d = wait(sfn, ex)
    assert d["status"] == "SUCCEEDED", d
    assert json.loads(d["output"]) == {"job": 1, "failure": {"Error": "Worker.Broke", "Cause": "disk full"}}, d
    h = sfn.get_execution_history(executionArn=ex)["events"]
    assert links(h)[2:7] == [("ActivityScheduled", 3, 2), ("ActivityStarted", 4, 3), ("ActivityFailed", 5, 4),
                             ("TaskStateExited", 6, 5), ("PassStateEntered", 7, 6)], links(h)
    assert h[4]["activityFailedEventDetails"] == {"error": "Worker.Broke", "cause": "disk full"}, h[4]
    checks += 4

    # A heartbeat, then silence: HeartbeatSeconds expires (recorded States.Timeout, caught as
    # States.HeartbeatTimeout); the worker's late answer is TaskTimedOut.
    late = {}
    def stall(w, token, _):
        w.send_task_heartbeat(taskToken=token)
        time.sleep(2.5)
        try:
            w.send_task_success(taskToken=token, output="{}")
            late["code"] = "none"
        except ClientError as e:
            late["code"] = e.response["Error"]["Code"]
    m = sfn.create_state_machine(name="act-heartbeat", roleArn=ROLE, definition=json.dumps({
        "StartAt": "ActivityTask", "States": {
            "ActivityTask": {"Type": "Task", "Resource": arn, "End": True, "TimeoutSeconds": 30,
                             "HeartbeatSeconds": 1, "Catch": [
                                 {"ErrorEquals": ["States.HeartbeatTimeout"], "Next": "Handled"}]},
            "Handled": {"Type": "Pass", "End": True}}}))["stateMachineArn"]
    t, result = worker(endpoint, arn, "w3", stall)
    ex = sfn.start_execution(stateMachineArn=m)["executionArn"]
    d = wait(sfn, ex)
    t.join(30)
    assert not result, result
    assert d["status"] == "SUCCEEDED", d
    h = sfn.get_execution_history(executionArn=ex)["events"]
    assert [e["type"] for e in h][2:7] == ["ActivityScheduled", "ActivityStarted", "ActivityTimedOut",
                                           "TaskStateExited", "PassStateEntered"], h
    assert h[2]["activityScheduledEventDetails"]["heartbeatInSeconds"] == 1, h[2]
    assert h[2]["activityScheduledEventDetails"]["timeoutInSeconds"] == 30, h[2]
    assert h[4]["activityTimedOutEventDetails"] == {"error": "States.Timeout"}, h[4]
    assert late == {"code": "TaskTimedOut"}, late
    checks += 5

    sfn.delete_activity(activityArn=arn)
    expect_error("ActivityDoesNotExist", sfn.describe_activity, activityArn=arn)
    return checks + 1


def test_state(sfn):
    """TestState as issue 17 asks: three calls, three tasks; .sync refused unmocked; mocks, context, JSONata."""
    arns = set()
    for cmd in ["one", "two", "three"]:
        t = sfn.test_state(definition=run_task("", ["echo", cmd]), roleArn=ROLE)
        assert t["status"] == "SUCCEEDED", t
        arns.add(json.loads(t["output"])["Tasks"][0]["TaskArn"])
    assert len(arns) == 3, arns
    msg = expect_error("ValidationException", sfn.test_state, definition=run_task(".sync", ["true"]))
    assert "when a mock is specified" in msg, msg
    error = {"errorOutput": {"error": "States.TaskFailed", "cause": "exit 1"}}
    t = sfn.test_state(definition=run_task(".sync", ["false"]), mock=error, inspectionLevel="DEBUG")
    assert t["status"] == "RETRIABLE" and t["error"] == "States.TaskFailed", t
    assert t["inspectionData"]["errorDetails"]["retryIndex"] == 0, t
    t = sfn.test_state(definition=run_task(".sync", ["false"]), mock=error,
                       stateConfiguration={"retrierRetryCount": 1})
    assert t["status"] == "CAUGHT_ERROR" and t["nextState"] == "Handle", t
    t = sfn.test_state(definition=run_task(".sync", ["true"]), mock={"result": json.dumps({"LastStatus": "STOPPED"})})
    assert t["status"] == "SUCCEEDED" and json.loads(t["output"]) == {"LastStatus": "STOPPED"}, t
    t = sfn.test_state(definition=json.dumps({"Type": "Pass", "Parameters": {"id.$": "$$.Execution.Id"}, "End": True}),
                       context=json.dumps({"Execution": {"Id": "given"}}))
    assert json.loads(t["output"]) == {"id": "given"}, t
    t = sfn.test_state(definition=json.dumps({"Type": "Pass", "QueryLanguage": "JSONata",
                                              "Output": {"a": "{% 1+1 %}"}, "End": True}))
    assert json.loads(t["output"]) == {"a": 2}, t
    return 7


def main(endpoint):
    sfn = client(endpoint)
    checks = 0

    created = sfn.create_state_machine(name="boto", definition=json.dumps(PASS), roleArn=ROLE)
    arn = created["stateMachineArn"]
    assert arn == "arn:aws:states:us-east-1:123456789012:stateMachine:boto", arn
    assert created["creationDate"].year >= 2024
    again = sfn.create_state_machine(name="boto", definition=json.dumps(PASS), roleArn=ROLE)
    assert again["stateMachineArn"] == arn
    msg = expect_error("StateMachineAlreadyExists", sfn.create_state_machine,
                       name="boto", definition=json.dumps(PASS, indent=2), roleArn=ROLE)
    assert msg == f"State Machine Already Exists: '{arn}'", msg
    d = sfn.describe_state_machine(stateMachineArn=arn)
    assert d["status"] == "ACTIVE" and d["type"] == "STANDARD" and d["roleArn"] == ROLE, d
    checks += 4

    e = sfn.start_execution(stateMachineArn=arn, name="first", input='{"x": 1}')
    done = wait(sfn, e["executionArn"])
    assert done["status"] == "SUCCEEDED", done
    assert json.loads(done["output"]) == {"a": 1}
    assert done["stopDate"] >= done["startDate"]
    history = sfn.get_execution_history(executionArn=e["executionArn"])["events"]
    assert [h["type"] for h in history] == ["ExecutionStarted", "PassStateEntered", "PassStateExited",
                                          "ExecutionSucceeded"], history
    reverse = sfn.get_execution_history(executionArn=e["executionArn"], reverseOrder=True)["events"]
    assert reverse[0]["type"] == "ExecutionSucceeded"
    checks += 4

    # Pagination with boto3's paginators.
    for i in range(7):
        wait(sfn, sfn.start_execution(stateMachineArn=arn, name=f"p{i}")["executionArn"])
    pages = sfn.get_paginator("list_executions").paginate(stateMachineArn=arn, PaginationConfig={"PageSize": 3})
    names = [x["name"] for page in pages for x in page["executions"]]
    assert names == ["p6", "p5", "p4", "p3", "p2", "p1", "p0", "first"], names
    events = [ev for page in sfn.get_paginator("get_execution_history").paginate(
        executionArn=e["executionArn"], PaginationConfig={"PageSize": 1}) for ev in page["events"]]
    assert [ev["id"] for ev in events] == [1, 2, 3, 4], events
    for i in range(3):
        sfn.create_state_machine(name=f"zz{i}", definition=json.dumps(PASS), roleArn=ROLE)
    machines = [m["name"] for page in sfn.get_paginator("list_state_machines").paginate(
        PaginationConfig={"PageSize": 2}) for m in page["stateMachines"]]
    assert machines == ["boto", "zz0", "zz1", "zz2"], machines
    checks += 3

    # Stop.
    slow = sfn.create_state_machine(name="slow", definition=json.dumps(WAIT), roleArn=ROLE)["stateMachineArn"]
    running = sfn.start_execution(stateMachineArn=slow)["executionArn"]
    assert sfn.describe_execution(executionArn=running)["status"] == "RUNNING"
    sfn.stop_execution(executionArn=running, error="Halt", cause="stopped by boto3")
    d = sfn.describe_execution(executionArn=running)
    assert (d["status"], d["error"], d["cause"]) == ("ABORTED", "Halt", "stopped by boto3"), d
    checks += 2

    # Callbacks: valid, invalid, expired.
    cb = sfn.create_state_machine(name="cb", definition=json.dumps(callback(60)), roleArn=ROLE)["stateMachineArn"]
    ex = sfn.start_execution(stateMachineArn=cb)["executionArn"]
    token = token_of(sfn, ex)
    sfn.send_task_heartbeat(taskToken=token)
    sfn.send_task_success(taskToken=token, output='{"done": true}')
    assert json.loads(wait(sfn, ex)["output"]) == {"done": True}
    expect_error("TaskDoesNotExist", sfn.send_task_success, taskToken=token, output="{}")
    expect_error("InvalidToken", sfn.send_task_failure, taskToken="not-a-token")
    ex = sfn.start_execution(stateMachineArn=cb)["executionArn"]
    sfn.send_task_failure(taskToken=token_of(sfn, ex), error="Worker.Broke", cause="disk full")
    d = wait(sfn, ex)
    assert (d["status"], d["error"], d["cause"]) == ("FAILED", "Worker.Broke", "disk full"), d
    short = sfn.create_state_machine(name="short", definition=json.dumps(callback(1)),
                                     roleArn=ROLE)["stateMachineArn"]
    ex = sfn.start_execution(stateMachineArn=short)["executionArn"]
    token = token_of(sfn, ex)
    assert wait(sfn, ex)["error"] == "States.Timeout"
    msg = expect_error("TaskTimedOut", sfn.send_task_success, taskToken=token, output="{}")
    assert msg == "Task Timed Out: 'Provided task does not exist anymore'", msg
    checks += 6

    # Errors.
    expect_error("ExecutionDoesNotExist", sfn.describe_execution,
                 executionArn="arn:aws:states:us-east-1:123456789012:execution:boto:none")
    msg = expect_error("InvalidArn", sfn.describe_state_machine, stateMachineArn="not_a_valid_arn")
    assert msg == "Invalid Arn: 'Invalid ARN prefix: not_a_valid_arn'", msg
    expect_error("InvalidName", sfn.start_execution, stateMachineArn=arn, name="a b")
    expect_error("InvalidExecutionInput", sfn.start_execution, stateMachineArn=arn, input="{")
    expect_error("ExecutionAlreadyExists", sfn.start_execution, stateMachineArn=arn, name="first")
    msg = expect_error("InvalidDefinition", sfn.create_state_machine, name="bad",
                       definition='{"StartAt": "A"}', roleArn=ROLE)
    assert msg.startswith("Invalid State Machine Definition: 'SCHEMA_VALIDATION_FAILED"), msg
    expect_error("ValidationException", sfn.list_executions, stateMachineArn=arn, statusFilter="succeeded")
    expect_error("StateMachineDoesNotExist", sfn.list_executions,
                 stateMachineArn="arn:aws:states:us-east-1:123456789012:stateMachine:none")
    checks += 8

    # EXPRESS, synchronously.
    express = sfn.create_state_machine(name="fast", definition=json.dumps(PASS), roleArn=ROLE,
                                       type="EXPRESS")["stateMachineArn"]
    r = sfn.start_sync_execution(stateMachineArn=express, input="{}")
    assert r["status"] == "SUCCEEDED" and json.loads(r["output"]) == {"a": 1}, r
    assert r["billingDetails"]["billedMemoryUsedInMB"] == 64
    expect_error("StateMachineTypeNotSupported", sfn.start_sync_execution, stateMachineArn=arn)
    checks += 2

    # Validation, TestState, tags.
    v = sfn.validate_state_machine_definition(definition='{"StartAt": "A", "States": {}}')
    assert v["result"] == "FAIL" and v["diagnostics"][0]["severity"] == "ERROR", v
    t = sfn.test_state(definition=json.dumps({"Type": "Pass", "Result": 7, "Next": "N"}), roleArn=ROLE,
                       inspectionLevel="DEBUG")
    assert t["status"] == "SUCCEEDED" and t["output"] == "7" and t["nextState"] == "N", t
    checks += test_state(sfn)
    checks += versions_aliases_redrive(sfn)
    checks += activities(sfn, endpoint)
    sfn.tag_resource(resourceArn=arn, tags=[{"key": "team", "value": "data"}])
    assert sfn.list_tags_for_resource(resourceArn=arn)["tags"] == [{"key": "team", "value": "data"}]
    sfn.delete_state_machine(stateMachineArn=arn)
    expect_error("StateMachineDoesNotExist", sfn.describe_state_machine, stateMachineArn=arn)
    checks += 4

    print(f"boto3 {boto3.__version__}: {checks} checks passed")


if __name__ == "__main__":
    main(sys.argv[1])
