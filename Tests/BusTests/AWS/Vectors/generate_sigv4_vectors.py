#!/usr/bin/env python3
"""Writes sigv4.json: golden AWS Signature Version 4 vectors produced by botocore's own signer.

The Swift signer (Sources/Bus/AWS/SigV4Signer.swift) must reproduce every Authorization header byte
for byte. Run it again only to add vectors; commit its output, not botocore:

    python3 Tests/BusTests/AWS/Vectors/generate_sigv4_vectors.py

Each vector gives the request as the Swift signer receives it: the method, the URL's scheme, host,
port and (already percent-encoded) path, the query as raw name/value pairs, the headers before
signing and the body as UTF-8 text. botocore signs with `SigV4Auth` (what SNS and SQS use) at a
fixed instant, so the output is deterministic.
"""

import datetime
import hashlib
import json
import pathlib
import sys
from unittest import mock

import botocore
import botocore.auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

TIMESTAMPS = [
    datetime.datetime(2026, 11, 25, 12, 34, 56),
    datetime.datetime(2027, 1, 1, 0, 0, 0),
    datetime.datetime(2026, 2, 28, 23, 59, 59),
]

FORM = "application/x-www-form-urlencoded; charset=utf-8"
JSON_10 = "application/x-amz-json-1.0"

VECTORS = [
    {
        "name": "sns Publish, form body, no session token",
        "service": "sns",
        "region": "us-east-1",
        "credentials": ("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", None),
        "method": "POST",
        "url": "https://sns.us-east-1.amazonaws.com/",
        "headers": [("Content-Type", FORM)],
        "body": "Action=Publish&Message=hello%20world&TopicArn=arn%3Aaws%3Asns%3Aus-east-1%3A123456789012%3Aalmanac"
        "&Version=2010-03-31",
    },
    {
        "name": "sns PublishBatch, FIFO form body with percent-encoded UTF-8, session token, eu-west-1",
        "service": "sns",
        "region": "eu-west-1",
        "credentials": ("ASIAEXAMPLETOKEN", "secret/with+symbols=", "IQoJb3JpZ2luX2VjEJr//////////wEaCXVzLWVhc3QtMSJH"),
        "method": "POST",
        "url": "https://sns.eu-west-1.amazonaws.com/",
        "headers": [("Content-Type", FORM)],
        "body": "Action=PublishBatch&PublishBatchRequestEntries.member.1.Id=0"
        "&PublishBatchRequestEntries.member.1.Message=%7B%22title%22%3A%22Gr%C3%BC%C3%9Fe%20%F0%9F%91%8B%22%7D"
        "&PublishBatchRequestEntries.member.1.MessageDeduplicationId=evt-1"
        "&PublishBatchRequestEntries.member.1.MessageGroupId=user-42"
        "&TopicArn=arn%3Aaws%3Asns%3Aeu-west-1%3A123456789012%3Aalmanac.fifo&Version=2010-03-31",
        "timestamp": 1,
    },
    {
        "name": "sqs SendMessage, JSON 1.0 body with raw non-ASCII characters",
        "service": "sqs",
        "region": "us-west-2",
        "credentials": ("AKIDEXAMPLE2", "anotherSecretKey0123456789", None),
        "method": "POST",
        "url": "https://sqs.us-west-2.amazonaws.com/",
        "headers": [("X-Amz-Target", "AmazonSQS.SendMessage"), ("Content-Type", JSON_10)],
        "body": '{"QueueUrl":"https://sqs.us-west-2.amazonaws.com/123456789012/almanac",'
        '"MessageBody":"Grüße, 会议记录 👩‍👩‍👧 ✓"}',
    },
    {
        "name": "sqs ReceiveMessage, JSON 1.0 with session token, ap-southeast-2",
        "service": "sqs",
        "region": "ap-southeast-2",
        "credentials": ("ASIAJSONTOKEN", "s3cr3t", "FwoGZXIvYXdzEBYaDH+token/with=chars"),
        "method": "POST",
        "url": "https://sqs.ap-southeast-2.amazonaws.com/",
        "headers": [("X-Amz-Target", "AmazonSQS.ReceiveMessage"), ("Content-Type", JSON_10)],
        "body": '{"QueueUrl":"https://sqs.ap-southeast-2.amazonaws.com/123456789012/q.fifo",'
        '"MaxNumberOfMessages":10,"WaitTimeSeconds":20,"MessageAttributeNames":["All"]}',
        "timestamp": 2,
    },
    {
        "name": "empty body GET with a session token",
        "service": "sqs",
        "region": "eu-central-1",
        "credentials": ("ASIAEMPTY", "emptySecret", "token-for-empty-body"),
        "method": "GET",
        "url": "https://sqs.eu-central-1.amazonaws.com/123456789012/almanac-events",
        "headers": [],
        "body": "",
    },
    {
        "name": "empty body POST without a session token",
        "service": "sns",
        "region": "us-east-2",
        "credentials": ("AKIDEMPTYPOST", "postSecret", None),
        "method": "POST",
        "url": "https://sns.us-east-2.amazonaws.com/",
        "headers": [("Content-Type", FORM)],
        "body": "",
    },
    {
        "name": "query needing escaping: spaces, slash, tilde, unicode, equals, repeated and empty names",
        "service": "sns",
        "region": "us-east-1",
        "credentials": ("AKIDQUERY", "querySecret", None),
        "method": "GET",
        "url": "https://sns.us-east-1.amazonaws.com/",
        "query": [
            ("Action", "ListTopics"),
            ("NextToken", "a b/c~d=e+f&g"),
            ("Prefix", "Grüße 👋"),
            ("with space", "x"),
            ("b", "2"),
            ("a", "z"),
            ("a", "1"),
            ("empty", ""),
            ("tilde~name", "~"),
            ("*star", "(paren)!'"),
        ],
        "headers": [],
        "body": "",
        "timestamp": 1,
    },
    {
        "name": "query escaping with a form body and a session token",
        "service": "sqs",
        "region": "sa-east-1",
        "credentials": ("ASIAQUERYTOKEN", "queryTokenSecret", "tok/en+=="),
        "method": "POST",
        "url": "https://sqs.sa-east-1.amazonaws.com/123456789012/q",
        "query": [("Action", "SendMessage"), ("MessageBody", "é = ü / ~ +")],
        "headers": [("Content-Type", FORM)],
        "body": "Version=2012-11-05",
    },
    {
        "name": "local endpoint on a non-default port (moto), sqs JSON",
        "service": "sqs",
        "region": "us-east-1",
        "credentials": ("testing", "testing", None),
        "method": "POST",
        "url": "http://127.0.0.1:54340/",
        "headers": [("X-Amz-Target", "AmazonSQS.GetQueueUrl"), ("Content-Type", JSON_10)],
        "body": '{"QueueName":"almanac-events.fifo"}',
    },
    {
        "name": "default https port is left out of the host",
        "service": "sns",
        "region": "us-west-1",
        "credentials": ("AKIDPORT", "portSecret", "port-token"),
        "method": "POST",
        "url": "https://sns.us-west-1.amazonaws.com:443/",
        "headers": [("Content-Type", FORM)],
        "body": "Action=GetTopicAttributes&TopicArn=arn%3Aaws%3Asns%3Aus-west-1%3A1%3At&Version=2010-03-31",
    },
    {
        "name": "header values are trimmed and inner whitespace squeezed; header names lowercased and sorted",
        "service": "sqs",
        "region": "us-east-1",
        "credentials": ("AKIDHEADERS", "headerSecret", None),
        "method": "POST",
        "url": "https://sqs.us-east-1.amazonaws.com/",
        "headers": [
            ("X-Amz-Target", "AmazonSQS.ListQueues"),
            ("Content-Type", JSON_10),
            ("My-Header", "  a   b \t c  "),
            ("ZZ-Last", "z"),
            ("User-Agent", "almanac/1.0 (not signed)"),
        ],
        "body": "{}",
    },
    {
        "name": "path segments are encoded again (spaces, unicode, tilde)",
        "service": "sqs",
        "region": "eu-west-2",
        "credentials": ("AKIDPATH", "pathSecret", None),
        "method": "POST",
        "url": "https://sqs.eu-west-2.amazonaws.com/123456789012/my%20queue~%C3%BC",
        "headers": [("Content-Type", FORM)],
        "body": "Action=GetQueueAttributes&AttributeName.1=All",
    },
    {
        "name": "explicit x-amz-content-sha256 header is signed and used as the payload hash",
        "service": "sns",
        "region": "ca-central-1",
        "credentials": ("AKIDSHA", "shaSecret", "sha-token"),
        "method": "POST",
        "url": "https://sns.ca-central-1.amazonaws.com/",
        "headers": [("Content-Type", FORM)],
        "body": "Action=ListTopics&Version=2010-03-31",
        "content_sha256_header": True,
        "timestamp": 2,
    },
]


def sign(vector):
    access_key, secret_key, token = vector["credentials"]
    body = vector["body"].encode("utf-8")
    headers = dict(vector["headers"])
    if vector.get("content_sha256_header"):
        headers["X-Amz-Content-SHA256"] = hashlib.sha256(body).hexdigest()
    request = AWSRequest(
        method=vector["method"],
        url=vector["url"],
        headers=headers,
        data=body,
        params=vector.get("query", []),
    )
    signer = botocore.auth.SigV4Auth(Credentials(access_key, secret_key, token), vector["service"], vector["region"])

    captured = {}
    canonical_request = signer.canonical_request
    string_to_sign = signer.string_to_sign

    def capture_canonical(request):
        captured["canonicalRequest"] = canonical_request(request)
        return captured["canonicalRequest"]

    def capture_string_to_sign(request, canonical):
        captured["stringToSign"] = string_to_sign(request, canonical)
        return captured["stringToSign"]

    signer.canonical_request = capture_canonical
    signer.string_to_sign = capture_string_to_sign
    instant = TIMESTAMPS[vector.get("timestamp", 0)]
    with mock.patch.object(botocore.auth, "datetime") as patched:
        patched.datetime.utcnow.return_value = instant
        patched.datetime.strptime = datetime.datetime.strptime
        signer.add_auth(request)

    return {
        "name": vector["name"],
        "service": vector["service"],
        "region": vector["region"],
        "accessKeyID": access_key,
        "secretAccessKey": secret_key,
        "sessionToken": token,
        "date": instant.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "method": vector["method"],
        "url": vector["url"],
        "query": [list(pair) for pair in vector.get("query", [])],
        "headers": [list(pair) for pair in vector["headers"]],
        "body": vector["body"],
        "contentSHA256Header": bool(vector.get("content_sha256_header")),
        "expected": {
            "authorization": request.headers["Authorization"],
            "amzDate": request.headers["X-Amz-Date"],
            "securityToken": request.headers.get("X-Amz-Security-Token"),
            "contentSHA256": request.headers.get("X-Amz-Content-SHA256"),
            "canonicalRequest": captured["canonicalRequest"],
            "stringToSign": captured["stringToSign"],
        },
    }


def main():
    output = pathlib.Path(__file__).with_name("sigv4.json")
    document = {
        "generator": "generate_sigv4_vectors.py with botocore.auth.SigV4Auth",
        "botocore": botocore.__version__,
        "vectors": [sign(vector) for vector in VECTORS],
    }
    output.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {len(document['vectors'])} vectors to {output}", file=sys.stderr)


if __name__ == "__main__":
    main()
