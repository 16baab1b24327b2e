"""The bootstrap stack: one bucket for every app's assets in an account and region.

Encrypted, versioned, public access blocked, TLS only, and kept when the stack is deleted. Asset
names carry their content's hash, so a deploy never overwrites one; the lifecycle rule expires
assets after ``AssetRetentionDays`` (a later deploy uploads again what it still needs) and old
versions and unfinished uploads soon after. ``infra/bootstrap/template.json`` is this template.
"""

from __future__ import annotations

import json
from typing import Any

__all__ = ["TEMPLATE", "render"]

_BUCKET_ARN = {"Fn::GetAtt": ["AssetBucket", "Arn"]}

TEMPLATE: dict[str, Any] = {
    "AWSTemplateFormatVersion": "2010-09-09",
    "Description": "flowfn bootstrap: the bucket flowfn deploy uploads code, layers and templates to.",
    "Parameters": {
        "AssetRetentionDays": {
            "Type": "Number", "Default": 365, "MinValue": 1,
            "Description": "Days an asset is kept after its upload; deploys upload again what they need.",
        },
    },
    "Resources": {
        "AssetBucket": {
            "Type": "AWS::S3::Bucket",
            "DeletionPolicy": "Retain",
            "UpdateReplacePolicy": "Retain",
            "Properties": {
                "BucketEncryption": {"ServerSideEncryptionConfiguration": [{
                    "BucketKeyEnabled": True, "ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]},
                "VersioningConfiguration": {"Status": "Enabled"},
                "PublicAccessBlockConfiguration": {
                    "BlockPublicAcls": True, "BlockPublicPolicy": True, "IgnorePublicAcls": True,
                    "RestrictPublicBuckets": True},
                "OwnershipControls": {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]},
                "LifecycleConfiguration": {"Rules": [{
                    "Id": "expire-old-assets",
                    "Status": "Enabled",
                    "ExpirationInDays": {"Ref": "AssetRetentionDays"},
                    "NoncurrentVersionExpiration": {"NoncurrentDays": 7},
                    "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 1},
                }]},
            },
        },
        "AssetBucketPolicy": {
            "Type": "AWS::S3::BucketPolicy",
            "Properties": {
                "Bucket": {"Ref": "AssetBucket"},
                "PolicyDocument": {"Version": "2012-10-17", "Statement": [{
                    "Sid": "TlsOnly", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
                    "Resource": [_BUCKET_ARN, {"Fn::Sub": "${AssetBucket.Arn}/*"}],
                    "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                }]},
            },
        },
    },
    "Outputs": {
        "AssetBucketName": {"Description": "The bucket flowfn deploy puts assets in",
                            "Value": {"Ref": "AssetBucket"}},
    },
}


def render() -> str:
    """The template as JSON text, as ``infra/bootstrap/template.json`` holds it."""
    return json.dumps(TEMPLATE, indent=2, sort_keys=True) + "\n"
