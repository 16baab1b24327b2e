"""The template's shape: functions, logs, roles, and the wiring of every trigger kind."""

from __future__ import annotations

import json
from graphlib import CycleError, TopologicalSorter
from typing import Any

import pytest

from flowfn.app import App
from flowfn.errors import ConfigError
from flowfn.resources import Bucket
from flowfn.synth import Synthesis, SynthOptions, synthesize
from flowfn.synth.refs import references

CODE, LAYERS = "code-0123456789abcdef.zip", {"arm64": "deps-arm.zip", "x86_64": "deps-x86.zip"}


def of_type(template: dict[str, Any], type_: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in template["Resources"].items() if v["Type"] == type_}


def props(template: dict[str, Any], logical_id: str) -> dict[str, Any]:
    body: dict[str, Any] = template["Resources"][logical_id]["Properties"]
    return body


def test_one_function_log_group_and_role_per_handler(fixture_synth: Synthesis, fixture_app: App) -> None:
    t = fixture_synth.template
    functions = of_type(t, "AWS::Lambda::Function")
    assert len(functions) == len(fixture_app.handlers) == 11
    for fn in functions.values():
        p = fn["Properties"]
        assert p["Runtime"] == "python3.11"
        assert p["Handler"] == "flowfn.runtime.handler"
        group = p["LoggingConfig"]["LogGroup"]["Ref"]
        assert t["Resources"][group]["Properties"]["RetentionInDays"] == 30
        role = p["Role"]["Fn::GetAtt"][0]
        trust = props(t, role)["AssumeRolePolicyDocument"]["Statement"]
        assert trust == [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"},
                          "Action": "sts:AssumeRole"}]
        assert "ManagedPolicyArns" not in props(t, role)
    assert len(of_type(t, "AWS::Logs::LogGroup")) == 11


def test_function_settings_reach_the_function(fixture_synth: Synthesis) -> None:
    t = fixture_synth.template
    resize = props(t, "ResizeFunction")
    assert (resize["MemorySize"], resize["Timeout"], resize["Architectures"]) == (1024, 60, ["x86_64"])
    assert resize["Layers"] == [{"Ref": "DepsLayerX8664"}]
    work = props(t, "WorkFunction")
    assert work["ReservedConcurrentExecutions"] == 20
    assert work["Layers"] == [{"Ref": "DepsLayerArm64"}]
    assert props(t, "HeartbeatFunction")["EphemeralStorage"] == {"Size": 2048}
    assert "ReservedConcurrentExecutions" not in props(t, "HeartbeatFunction")
    assert resize["Code"] == {"S3Bucket": {"Ref": "AssetBucket"},
                              "S3Key": {"Fn::Sub": "${AssetPrefix}" + CODE}}


def test_environment_holds_the_contract_and_only_the_resources_used(fixture_synth: Synthesis) -> None:
    t = fixture_synth.template
    env = props(t, "ResizeFunction")["Environment"]["Variables"]
    assert set(env) == {"FLOWFN_APP", "FLOWFN_FUNCTION", "FLOWFN_LOG_LEVEL", "FLOWFN_BUCKET_UPLOADS",
                        "FLOWFN_QUEUE_JOBS_URL"}
    assert (env["FLOWFN_APP"], env["FLOWFN_FUNCTION"], env["FLOWFN_LOG_LEVEL"]) == ("app", "resize", "INFO")
    assert env["FLOWFN_QUEUE_JOBS_URL"] == {"Ref": "JobsQueue"}
    assert env["FLOWFN_BUCKET_UPLOADS"] == props(t, "UploadsBucket")["BucketName"]
    partner = props(t, "PartnerBatchFunction")["Environment"]["Variables"]
    assert partner["PARTNER"] == "acme" and partner["FLOWFN_LOG_LEVEL"] == "DEBUG"
    assert partner["FLOWFN_QUEUE_PARTNER_EVENTS_URL"] == (
        "https://sqs.eu-west-1.amazonaws.com/123456789012/partner-events")
    nightly = props(t, "NightlyFunction")["Environment"]["Variables"]
    assert nightly["FLOWFN_QUEUE_LEGACY_URL"] == "https://sqs.us-west-2.amazonaws.com/210987654321/legacy-jobs"
    assert "FLOWFN_BUCKET_UPLOADS" not in nightly
    files = props(t, "FilesFunction")["Environment"]["Variables"]
    assert files["FLOWFN_BUCKET_ARCHIVE"] == "company-archive"


def graph_of(template: dict[str, Any]) -> dict[str, set[str]]:
    resources = template["Resources"]
    edges = {}
    for rid, body in resources.items():
        deps = references(body.get("Properties", {})) | set(body.get("DependsOn", []))
        edges[rid] = {d for d in deps if d in resources}
    return edges


def test_s3_wiring_has_no_circular_dependency(fixture_synth: Synthesis) -> None:
    t = fixture_synth.template
    graph = graph_of(t)
    order = list(TopologicalSorter(graph).static_order())
    # The bucket waits for the permission, which S3 checks before it accepts the notification.
    assert order.index("ResizePermission") < order.index("UploadsBucket")
    assert order.index("ResizeFunction") < order.index("ResizePermission")
    assert "UploadsBucket" not in graph["ResizeFunction"] | graph["ResizeRole"]
    perm = props(t, "ResizePermission")
    assert perm["Principal"] == "s3.amazonaws.com"
    assert perm["SourceAccount"] == {"Ref": "AWS::AccountId"}
    assert props(t, "UploadsBucket")["BucketName"] in perm["SourceArn"]["Fn::Join"][1]


def test_naive_wiring_would_be_circular() -> None:
    # The check above can fail: a Ref to the bucket from the permission closes a loop.
    naive = {"Resources": {
        "Bucket": {"Properties": {"N": {"Fn::GetAtt": ["Fn", "Arn"]}}, "DependsOn": ["Perm"]},
        "Perm": {"Properties": {"SourceArn": {"Fn::GetAtt": ["Bucket", "Arn"]},
                                "FunctionName": {"Ref": "Fn"}}},
        "Fn": {"Properties": {}},
    }}
    with pytest.raises(CycleError):
        list(TopologicalSorter(graph_of(naive)).static_order())


def test_s3_notifications_carry_events_and_filters(fixture_synth: Synthesis) -> None:
    bucket = props(fixture_synth.template, "UploadsBucket")
    entries = bucket["NotificationConfiguration"]["LambdaConfigurations"]
    assert [(e["Event"], e["Function"]["Fn::GetAtt"][0]) for e in entries] == [
        ("s3:ObjectCreated:*", "ResizeFunction"),
        ("s3:ObjectRemoved:*", "CleanupFunction"),
        ("s3:ObjectTagging:Put", "CleanupFunction"),
    ]
    assert entries[0]["Filter"] == {"S3Key": {"Rules": [{"Name": "prefix", "Value": "incoming/"},
                                                         {"Name": "suffix", "Value": ".jpg"}]}}
    assert "Filter" not in entries[1]
    assert bucket["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True, "BlockPublicPolicy": True, "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True}
    assert bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"][0][
        "ServerSideEncryptionByDefault"] == {"SSEAlgorithm": "AES256"}


def test_s3_trigger_on_an_existing_bucket_is_refused() -> None:
    app = App("x")
    with pytest.raises(ConfigError, match=r"handler 'watch', argument 'bucket'.*existing"):
        app.on_s3(Bucket("logs", existing="company-logs"), name="watch")(lambda record, context: None)


def test_sqs_mapping_queue_and_dead_letters(fixture_synth: Synthesis) -> None:
    t = fixture_synth.template
    work = props(t, "WorkMapping")
    assert work == {
        "EventSourceArn": {"Fn::GetAtt": ["JobsQueue", "Arn"]},
        "FunctionName": {"Ref": "WorkFunction"},
        "BatchSize": 50,
        "MaximumBatchingWindowInSeconds": 5,
        "FunctionResponseTypes": ["ReportBatchItemFailures"],
        "ScalingConfig": {"MaximumConcurrency": 5},
        "Enabled": True,
    }
    jobs = props(t, "JobsQueue")
    assert jobs["VisibilityTimeout"] == 6 * 120
    assert jobs["RedrivePolicy"] == {"deadLetterTargetArn": {"Fn::GetAtt": ["JobsDlqQueue", "Arn"]},
                                     "maxReceiveCount": 3}
    assert jobs["SqsManagedSseEnabled"] is True
    assert props(t, "JobsDlqQueue")["MessageRetentionPeriod"] == 1_209_600
    orders = props(t, "OrdersFifoQueue")
    assert orders["FifoQueue"] and orders["ContentBasedDeduplication"]
    assert orders["RedrivePolicy"]["maxReceiveCount"] == 5 and orders["VisibilityTimeout"] == 180
    audit = props(t, "AuditQueue")
    assert (audit["VisibilityTimeout"], audit["DelaySeconds"], audit["MessageRetentionPeriod"]) == (
        600, 10, 86_400)
    assert "RedrivePolicy" not in audit
    assert props(t, "PartnerBatchMapping")["EventSourceArn"] == (
        "arn:aws:sqs:eu-west-1:123456789012:partner-events")
    assert not any("Partner" in rid or "Legacy" in rid for rid in of_type(t, "AWS::SQS::Queue"))


def test_schedules_rule_in_utc_and_scheduler_with_a_time_zone(fixture_synth: Synthesis) -> None:
    t = fixture_synth.template
    rule = props(t, "NightlyRule")
    assert rule["ScheduleExpression"] == "cron(0 3 * * ? *)" and rule["State"] == "ENABLED"
    assert rule["Targets"] == [{"Arn": {"Fn::GetAtt": ["NightlyFunction", "Arn"]}, "Id": "function"}]
    perm = props(t, "NightlyPermission")
    assert perm["Principal"] == "events.amazonaws.com"
    assert perm["SourceArn"] == {"Fn::GetAtt": ["NightlyRule", "Arn"]}
    assert props(t, "HeartbeatRule")["State"] == "DISABLED"
    schedule = props(t, "MorningSchedule")
    assert schedule["ScheduleExpressionTimezone"] == "Europe/Paris"
    assert schedule["FlexibleTimeWindow"] == {"Mode": "OFF"}
    event = json.loads(schedule["Target"]["Input"]["Fn::Sub"])
    assert event["detail-type"] == "Scheduled Event" and event["resources"] == ["<aws.scheduler.schedule-arn>"]
    role = props(t, schedule["Target"]["RoleArn"]["Fn::GetAtt"][0])
    assert role["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] == {
        "Service": "scheduler.amazonaws.com"}
    statement = role["Policies"][0]["PolicyDocument"]["Statement"]
    assert statement == [{"Effect": "Allow", "Action": ["lambda:InvokeFunction"],
                          "Resource": [{"Fn::GetAtt": ["MorningFunction", "Arn"]}]}]


def test_async_functions_keep_failed_events(fixture_synth: Synthesis, fixture_app: App) -> None:
    t = fixture_synth.template
    configs = of_type(t, "AWS::Lambda::EventInvokeConfig")
    assert sorted(configs) == ["CleanupInvokeConfig", "HeartbeatInvokeConfig", "MorningInvokeConfig",
                               "NightlyInvokeConfig", "ResizeInvokeConfig"]
    for body in configs.values():
        assert body["Properties"]["DestinationConfig"] == {
            "OnFailure": {"Destination": {"Fn::GetAtt": ["FailedEvents", "Arn"]}}}
    plain = synthesize(fixture_app, SynthOptions(failure_destination=False), code_asset=CODE,
                       layers=LAYERS).template
    assert not of_type(plain, "AWS::Lambda::EventInvokeConfig") and "FailedEvents" not in plain["Resources"]


def test_http_api_routes_and_permissions(fixture_synth: Synthesis) -> None:
    t = fixture_synth.template
    assert list(of_type(t, "AWS::ApiGatewayV2::Api")) == ["HttpApi"]
    assert props(t, "HttpApi")["ProtocolType"] == "HTTP"
    stage = props(t, "HttpApiStage")
    assert stage["StageName"] == "$default" and stage["AutoDeploy"] is True
    routes = sorted(b["Properties"]["RouteKey"] for b in of_type(t, "AWS::ApiGatewayV2::Route").values())
    assert routes == ["ANY /files/{key+}", "GET /reports/{name}", "POST /"]
    integration = props(t, "GetReportIntegration")
    assert integration["PayloadFormatVersion"] == "2.0" and integration["IntegrationType"] == "AWS_PROXY"
    assert props(t, "GetReportRoute")["Target"] == {"Fn::Join": ["", ["integrations/",
                                                                      {"Ref": "GetReportIntegration"}]]}
    arn = props(t, "GetReportPermission")["SourceArn"]["Fn::Join"][1]
    assert arn[-1] == "GET/reports/*" and props(t, "FilesPermission")["SourceArn"]["Fn::Join"][1][-1] == "*/files/*"
    assert t["Outputs"]["ApiUrl"]["Value"] == {"Fn::GetAtt": ["HttpApi", "ApiEndpoint"]}


def test_outputs_and_parameters(fixture_synth: Synthesis) -> None:
    t = fixture_synth.template
    assert set(t["Parameters"]) == {"AssetBucket", "AssetPrefix"}
    assert set(t["Outputs"]) == {"ApiUrl", "AuditQueueUrl", "FailedEventsUrl", "JobsDlqQueueUrl",
                                 "JobsQueueUrl", "OrdersDlqFifoQueueUrl", "OrdersFifoQueueUrl",
                                 "ReportsBucketName", "UploadsBucketName"}
    layer = props(t, "DepsLayerArm64")
    assert layer["Content"]["S3Key"] == {"Fn::Sub": "${AssetPrefix}deps-arm.zip"}
    assert layer["CompatibleRuntimes"] == ["python3.11"] and layer["CompatibleArchitectures"] == ["arm64"]
    assert "BucketName" not in json.dumps(props(t, "ReportsBucket")["BucketName"])


def test_same_app_gives_the_same_bytes(fixture_app: App) -> None:
    first = synthesize(fixture_app, SynthOptions(), code_asset=CODE, layers=LAYERS).files()
    again = synthesize(fixture_app, SynthOptions(), code_asset=CODE, layers=LAYERS).files()
    assert first == again
    yaml = synthesize(fixture_app, SynthOptions(format="yaml"), code_asset=CODE, layers=LAYERS).files()
    assert list(yaml) == ["template.yaml"]
