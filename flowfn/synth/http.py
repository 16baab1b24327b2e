"""HTTP routes: an integration and a route on the app's one HTTP API, payload format 2.0."""

from __future__ import annotations

from flowfn.synth.context import Build, Wiring
from flowfn.synth.iam import Need
from flowfn.synth.ids import ResourceId, label
from flowfn.synth.options import SynthOptions
from flowfn.synth.refs import ACCOUNT, PARTITION, REGION, Json, getatt, join, ref
from flowfn.triggers.base import Trigger
from flowfn.triggers.http import HttpTrigger

#: Shared key and logical id of the app's HTTP API.
API_ID = "HttpApi"


def source_path(trigger: HttpTrigger) -> str:
    """The part of an execute-api ARN after the stage: ``GET/thumbnails/*``."""
    method = "*" if trigger.method == "ANY" else trigger.method
    segments = ["*" if seg.startswith("{") else seg for seg in trigger.segments]
    return method + "/" + "/".join(segments)


def wire_http(w: Wiring, opts: SynthOptions) -> None:
    """Integration, route, and the permission API Gateway invokes this route's function with."""
    trigger = w.handler.trigger
    assert isinstance(trigger, HttpTrigger)
    api: Json = w.build.share(API_ID, ref(API_ID))
    integration = w.add("Integration", "AWS::ApiGatewayV2::Integration", {
        "ApiId": api,
        "IntegrationType": "AWS_PROXY",
        "IntegrationUri": getatt(w.function_id, "Arn"),
        "PayloadFormatVersion": "2.0",
    })
    w.add("Route", "AWS::ApiGatewayV2::Route", {
        "ApiId": api,
        "RouteKey": trigger.route_key,
        "Target": join(["integrations/", ref(integration)]),
    })
    w.add("Permission", "AWS::Lambda::Permission", {
        "Action": "lambda:InvokeFunction",
        "FunctionName": getatt(w.function_id, "Arn"),
        "Principal": "apigateway.amazonaws.com",
        "SourceArn": join(["arn:", PARTITION, ":execute-api:", REGION, ":", ACCOUNT, ":", api, "/*/",
                           source_path(trigger)]),
    })


def add_api(build: Build) -> None:
    """The app's HTTP API with its $default stage, auto-deployed, and its URL as an output."""
    build.resources[API_ID] = {"Type": "AWS::ApiGatewayV2::Api", "Properties": {
        "Name": build.app_name, "ProtocolType": "HTTP",
        "Description": f"flowfn {build.app_name}: HTTP routes"}}
    build.resources[API_ID + "Stage"] = {"Type": "AWS::ApiGatewayV2::Stage", "Properties": {
        "ApiId": ref(API_ID), "StageName": "$default", "AutoDeploy": True}}
    build.outputs["ApiUrl"] = {"Description": "Base URL of the HTTP API",
                               "Value": getatt(API_ID, "ApiEndpoint")}


def http_needs(trigger: Trigger) -> list[Need]:
    """API Gateway invokes the function through its permission: the role needs nothing."""
    return []


def http_graph(trigger: Trigger, fn: str, rid: ResourceId) -> tuple[list[str], list[str]]:
    """The route as a node, pointing into the function."""
    assert isinstance(trigger, HttpTrigger)
    return [f"  {fn}_route{{{{{label(trigger.route_key)}}}}}"], [f"  {fn}_route --> {fn}"]
