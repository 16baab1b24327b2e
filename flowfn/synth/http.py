"""HTTP routes: an integration and a route on the app's one HTTP API, payload format 2.0."""

from __future__ import annotations

from flowfn.synth.context import Wiring
from flowfn.synth.options import SynthOptions
from flowfn.synth.refs import ACCOUNT, PARTITION, REGION, Json, getatt, join, ref
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
