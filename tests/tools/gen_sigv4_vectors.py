#!/usr/bin/env python3
"""Generate tests/unit/data/sigv4_vectors.json: SigV4 signatures computed by botocore.

serac's signer (src/io/sigv4.c) is checked byte for byte against these
vectors by tests/unit/test_sigv4.c, so its canonical request, string to sign
and Authorization header come from an implementation that S3 accepts every
day, not from serac's own reading of the documentation.

Each case describes one request twice:

* ``url`` / ``headers`` / ``payload_hash``: what serac's caller hands to
  sigv4_sign, the URL as it goes on the wire. Wire URLs are deliberately
  encoded in several legal ways (lower-case hex, '+' for a space in the
  query, '/' and '~' left bare, parameters unsorted, valueless parameters),
  because S3 decodes and re-encodes them before it checks a signature.
* the botocore request: the decoded path encoded the way botocore's own
  serialiser would (``quote(key, safe='/~')``, which S3SigV4Auth signs as is)
  and the decoded query parameters as ``AWSRequest.params``, which botocore
  encodes and sorts itself. botocore then signs with S3SigV4Auth (service
  s3) or SigV4Auth (other services) at a fixed time.

Cases with a ``remote`` member are also signed through sigv4_sign_multimap:
``remote.headers`` is the RemoteSignRequest multimap a client would send
(including headers the remote signer leaves unsigned) and ``remote.body``
its body; the result must carry the same Authorization.

Usage: .venv/bin/python tests/tools/gen_sigv4_vectors.py [output.json]
(needs botocore; the default output is tests/unit/data/sigv4_vectors.json).
"""

import datetime
import hashlib
import json
import os
import sys
from unittest import mock
from urllib.parse import quote, quote_plus

import botocore
import botocore.auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials

AK = "AKIDEXAMPLE"
SK = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
TOKEN = (
    "IQoJb3JpZ2luX2VjEXAMPLE//////////wEaCXVzLWVhc3QtMSJHMEUCIQD+session/token=="
)
T0 = 1440938160  # 2015-08-30T12:36:00Z, the date of AWS's own examples

LOWER_HEX = "lower"


def enc_canonical(s, slash=False):
    """What AWS wants: unreserved characters bare, everything else %XX."""
    return quote(s, safe="/~" if slash else "~")


def enc_wire(s, style, slash):
    """Encode s for the wire in one of several forms S3 reads the same way."""
    if style == "canonical":
        return enc_canonical(s, slash)
    if style == LOWER_HEX:
        out = enc_canonical(s, slash)
        res, i = [], 0
        while i < len(out):
            if out[i] == "%":
                res.append(out[i : i + 3].lower())
                i += 3
            else:
                res.append(out[i])
                i += 1
        return "".join(res)
    if style == "plus":  # form style: space as '+', '/' and '~' bare, '+' as %2B
        return quote_plus(s, safe="/~")
    if style == "loose":  # '/', '~' and sub-delims bare where the URL grammar allows them
        return quote(s, safe="/~!$'()*,;:@")
    if style == "loose-path":  # '+', '=', '&' bare in the path: literal characters there
        return quote(s, safe="/~!$'()*,;:@=+&")
    raise ValueError(style)


def case(
    name,
    method="GET",
    scheme="https",
    host="examplebucket.s3.amazonaws.com",
    port=None,
    key="/",
    path_style="canonical",
    params=(),
    query_style="canonical",
    query_order=None,
    headers=(),
    body=None,
    payload="empty",
    creds="plain",
    service="s3",
    region="us-east-1",
    time=T0,
    remote=None,
):
    return dict(
        name=name,
        method=method,
        scheme=scheme,
        host=host,
        port=port,
        key=key,
        path_style=path_style,
        params=list(params),
        query_style=query_style,
        query_order=query_order,
        headers=list(headers),
        body=body,
        payload=payload,
        creds=creds,
        service=service,
        region=region,
        time=time,
        remote=remote,
    )


DELETE_XML = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<Delete xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Quiet>true</Quiet>'
    "<Object><Key>db/t1/data/00000-0-a.parquet</Key></Object>"
    "<Object><Key>db/t1/metadata/snap-1.avro</Key></Object></Delete>"
)
STS_FORM = (
    "Action=AssumeRole&Version=2011-06-15"
    "&RoleArn=arn%3Aaws%3Aiam%3A%3A123456789012%3Arole%2Fserac-vend"
    "&RoleSessionName=serac-t1&DurationSeconds=3600"
    "&Policy=%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%5B%5D%7D"
)
PUT_BODY = '{"format-version":2,"table-uuid":"9c12d441-03fe-4693-9a96-a0705ddf69c1"}'

# AWS's published example ("Signature Calculations for the Authorization Header:
# Transferring Payload in a Single Chunk", GET Object), with its own keys and date;
# main() checks that botocore reproduces the signature printed in that document.
AWS_DOC_EXAMPLE = "aws-doc-get-object"
AWS_DOC_SIGNATURE = "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"
AWS_DOC_CREDS = ("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")

CASES = [
    case(AWS_DOC_EXAMPLE, key="/test.txt", headers=[("Range", "bytes=0-9")], time=1369353600,
         creds="aws-doc"),
    case("get-object-empty-body", key="/test.txt"),
    case(
        "get-object-aws-doc-range",
        key="/test.txt",
        headers=[("Range", "bytes=0-9")],
        time=T0,
    ),
    case("list-bucket-root", key="/", params=[("max-keys", "2"), ("prefix", "J")]),
    case(
        "list-v2-sorted-slash-in-values",
        scheme="http",
        host="127.0.0.1",
        port=9000,
        key="/warehouse",
        params=[("list-type", "2"), ("prefix", "db/t1/"), ("delimiter", "/")],
        query_style="loose",
        query_order=[2, 0, 1],
    ),
    case(
        "list-unsorted-lower-hex",
        key="/bkt",
        params=[("prefix", "ns/tbl/metadata/"), ("continuation-token", "1/ab+c=="),
                ("list-type", "2"), ("encoding-type", "url")],
        query_style=LOWER_HEX,
    ),
    case(
        "query-space-as-plus-and-percent20",
        key="/bkt",
        params=[("prefix", "a b  c"), ("start-after", "x y")],
        query_style="plus",
    ),
    case(
        "query-literal-plus-percent-tilde",
        key="/bkt",
        params=[("prefix", "a+b%c~d"), ("marker", "100%~")],
        query_style="loose",
    ),
    case(
        "query-repeated-params-sorted-by-value",
        key="/bkt",
        params=[("tag", "zeta"), ("tag", "alpha"), ("a", "2"), ("tag", "Mid"), ("a", "1")],
    ),
    case(
        "query-empty-values",
        key="/bkt",
        params=[("prefix", ""), ("delimiter", "/"), ("marker", "")],
        query_style="loose",
    ),
    case(
        "post-uploads-valueless",
        method="POST",
        key="/bkt/db/t1/data/big.parquet",
        params=[("uploads", None)],
        payload="unsigned",
    ),
    case(
        "post-delete-valueless-with-body",
        method="POST",
        key="/bkt",
        params=[("delete", None)],
        headers=[("Content-MD5", "1B2M2Y8AsgTpgAmY7PhCfg=="), ("Content-Type", "application/xml")],
        body=DELETE_XML,
        payload="body",
        remote={
            "headers": {
                "Content-MD5": ["1B2M2Y8AsgTpgAmY7PhCfg=="],
                "Content-Type": ["application/xml"],
                "User-Agent": ["aws-sdk-java/2.29.0 Linux/6.1 OpenJDK_64-Bit_Server_VM/17"],
                "amz-sdk-invocation-id": ["0b5e6c4f-6f5e-4c8c-9d1e-1f2a3b4c5d6e"],
                "amz-sdk-request": ["attempt=1; max=4"],
            },
            "body": DELETE_XML,
        },
    ),
    case(
        "upload-part-params",
        method="PUT",
        key="/bkt/db/t1/data/big.parquet",
        params=[("uploadId", "VXBsb2FkIElEIGZvciBlbHZpbmc/bW92aWUubTJ0cyB1cGxvYWQ="),
                ("partNumber", "12")],
        query_style="loose",
        query_order=[1, 0],
        payload="unsigned",
    ),
    case("key-with-spaces", key="/bkt/my folder/a  b.txt"),
    case("key-with-plus-and-equals-bare", key="/bkt/db/t1/data/id=1+2/x&y.parquet",
         path_style="loose-path"),
    case("key-with-percent-and-tilde", key="/bkt/100%/~user/a%20b.txt"),
    case(
        "key-unicode-lower-hex",
        key="/bkt/données/été/\u6771\u4eac.avro",
        path_style=LOWER_HEX,
    ),
    case("key-dot-segments-kept", key="/bkt/a/../b/./c"),
    case("key-double-slashes-kept", key="/bkt//a///b/"),
    case("key-sub-delims", key="/bkt/a!b$c'd(e)f*g,h;i:j@k", path_style="loose-path"),
    case("port-in-host", scheme="http", host="minio.local", port=9000, key="/bkt/k"),
    case("default-port-dropped-https", host="s3.eu-west-1.amazonaws.com", port=443,
         key="/bkt/k", region="eu-west-1"),
    case("default-port-dropped-http", scheme="http", host="localhost", port=80, key="/bkt/k"),
    case("ipv6-host", scheme="http", host="[::1]", port=9000, key="/bkt/k"),
    case("upper-case-host", host="ExampleBucket.S3.Amazonaws.COM", key="/k"),
    case("session-token", key="/bkt/k", creds="token"),
    case(
        "session-token-put-sha256",
        method="PUT",
        key="/bkt/db/t1/metadata/00001-abc.metadata.json",
        headers=[("Content-Type", "application/json")],
        body=PUT_BODY,
        payload="body",
        creds="token",
        region="eu-central-1",
    ),
    case(
        "put-if-none-match",
        method="PUT",
        key="/bkt/db/t1/metadata/00002-def.metadata.json",
        headers=[("If-None-Match", "*"), ("Content-Type", "application/json")],
        body=PUT_BODY,
        payload="body",
    ),
    case(
        "meta-headers-prefix-names",
        method="PUT",
        key="/bkt/k",
        headers=[
            ("x-amz-meta-a-b", "2"),
            ("X-Amz-Meta-A", "1"),
            ("x-amz-meta-ab", "3"),
            ("x-amz-meta-a-", "4"),
        ],
        payload="unsigned",
    ),
    case(
        "repeated-headers-joined",
        key="/bkt/k",
        headers=[("X-Amz-Meta-Tag", "one"), ("x-amz-meta-other", "x"),
                 ("x-amz-meta-tag", "two"), ("X-AMZ-META-TAG", "three")],
    ),
    case(
        "header-whitespace",
        key="/bkt/k",
        headers=[
            ("x-amz-meta-spaces", "  a   b \t c  "),
            ("Content-Type", "text/plain;  charset=utf-8 "),
            ("x-amz-meta-empty", ""),
        ],
    ),
    case(
        "content-type-and-storage-class",
        method="PUT",
        key="/bkt/k.avro",
        headers=[("Content-Type", "application/octet-stream"),
                 ("x-amz-storage-class", "STANDARD_IA"), ("Content-Length", "0")],
        body="",
        payload="body",
    ),
    case("unsigned-payload-get", key="/bkt/k", payload="unsigned"),
    case("head-object", method="HEAD", key="/bkt/db/t1/metadata/v1.metadata.json"),
    case("delete-object", method="DELETE", key="/bkt/db/t1/data/x.parquet", creds="token"),
    case(
        "copy-object-source-header",
        method="PUT",
        key="/bkt/dst/k",
        headers=[("x-amz-copy-source", "/bkt/src/a%20b.txt")],
        payload="unsigned",
    ),
    case("leap-day-late", key="/bkt/k", time=1709251199, region="ap-southeast-2"),
    case("far-future", key="/bkt/k", time=4102444799, region="us-west-2"),
    case(
        "sts-assume-role-form",
        method="POST",
        host="sts.us-east-1.amazonaws.com",
        key="/",
        headers=[("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")],
        body=STS_FORM,
        payload="body",
        service="sts",
    ),
    case(
        "sts-minio-token",
        method="POST",
        scheme="http",
        host="127.0.0.1",
        port=9000,
        key="/",
        headers=[("Content-Type", "application/x-www-form-urlencoded")],
        body=STS_FORM,
        payload="body",
        service="sts",
        creds="token",
    ),
    # Remote signing: the headers the Java client (AWS SDK v2) sends for a ranged read.
    case(
        "remote-java-get-range",
        key="/bkt/db/t1/data/00000-0-a.parquet",
        headers=[("x-amz-checksum-mode", "ENABLED")],
        payload="unsigned",
        creds="token",
        region="us-west-2",
        remote={
            "headers": {
                "Range": ["bytes=4-1027"],
                "User-Agent": ["aws-sdk-java/2.29.0 md/io#sync ua/2.1 api/S3#2.29.0"],
                "amz-sdk-invocation-id": ["6b3d1f0e-0000-4000-8000-000000000001"],
                "amz-sdk-request": ["attempt=1; max=4"],
                "x-amz-checksum-mode": ["ENABLED"],
            },
            "body": None,
        },
    ),
    # Remote signing: PyIceberg (botocore, signing disabled) uploading a metadata file.
    case(
        "remote-pyiceberg-put",
        method="PUT",
        scheme="http",
        host="localhost",
        port=9000,
        key="/bkt/db/t1/metadata/00003-x.metadata.json",
        headers=[("Content-Type", "application/json"), ("Content-MD5", "Jq0X1R5yZtNjCRH0XCIzeA==")],
        payload="unsigned",
        remote={
            "headers": {
                "User-Agent": ["Botocore/1.35.0 ua/2.0 os/linux#6.1 lang/python#3.11"],
                "Content-Type": ["application/json"],
                "Content-MD5": ["Jq0X1R5yZtNjCRH0XCIzeA=="],
                "Expect": ["100-continue"],
            },
            "body": None,
        },
    ),
    # Remote signing: botocore's aws-chunked upload with a trailing checksum over HTTPS.
    case(
        "remote-chunked-trailer-put",
        method="PUT",
        key="/bkt/db/t1/data/00001-0-b.parquet",
        headers=[
            ("Content-Encoding", "aws-chunked"),
            ("X-Amz-Trailer", "x-amz-checksum-crc32"),
            ("X-Amz-Decoded-Content-Length", "1048576"),
            ("x-amz-sdk-checksum-algorithm", "CRC32"),
        ],
        payload="trailer",
        remote={
            "headers": {
                "Content-Encoding": ["aws-chunked"],
                "X-Amz-Trailer": ["x-amz-checksum-crc32"],
                "X-Amz-Decoded-Content-Length": ["1048576"],
                "x-amz-sdk-checksum-algorithm": ["CRC32"],
                "Transfer-Encoding": ["chunked"],
                "User-Agent": ["Botocore/1.36.0"],
            },
            "body": None,
        },
    ),
    # Remote signing: the client states its own payload hash; it is signed as given.
    case(
        "remote-client-payload-hash",
        method="PUT",
        key="/bkt/k2",
        body="hello",
        payload="body",
        remote={
            "headers": {
                "X-Amz-Content-SHA256": [hashlib.sha256(b"hello").hexdigest()],
                "Host": ["attacker.example"],
                "Authorization": ["AWS4-HMAC-SHA256 stale"],
            },
            "body": None,
        },
    ),
]


def wire_url(c):
    hostport = c["host"] + (f":{c['port']}" if c["port"] else "")
    path = enc_wire(c["key"], c["path_style"], slash=True)
    url = f"{c['scheme']}://{hostport}{path}"
    params = c["params"]
    if params:
        order = c["query_order"] or range(len(params))
        parts = []
        for i in order:
            n, v = params[i]
            en = enc_wire(n, c["query_style"], slash=False)
            parts.append(en if v is None else en + "=" + enc_wire(v, c["query_style"], slash=False))
        url += "?" + "&".join(parts)
    return url


def sign(c):
    hostport = c["host"] + (f":{c['port']}" if c["port"] else "")
    bot_url = f"{c['scheme']}://{hostport}{enc_canonical(c['key'], slash=True)}"
    data = c["body"].encode() if c["body"] is not None else None
    req = AWSRequest(method=c["method"], url=bot_url, data=data)
    if c["params"]:
        req.params = [(n, "" if v is None else v) for n, v in c["params"]]
    for n, v in c["headers"]:
        req.headers[n] = v  # email.message semantics: a repeated name is kept twice
    if c["payload"] == "unsigned":
        req.context["client_config"] = Config(s3={"payload_signing_enabled": False})
    elif c["payload"] == "trailer":
        req.context["checksum"] = {
            "request_algorithm": {"in": "trailer", "name": "x-amz-checksum-crc32"}
        }
    token = TOKEN if c["creds"] == "token" else None
    ak, sk = AWS_DOC_CREDS if c["creds"] == "aws-doc" else (AK, SK)
    creds = Credentials(ak, sk, token)
    cls = botocore.auth.S3SigV4Auth if c["service"] == "s3" else botocore.auth.SigV4Auth
    signer = cls(creds, c["service"], c["region"])
    when = datetime.datetime.fromtimestamp(c["time"], datetime.timezone.utc)
    seen = {}
    real_cr, real_sts = signer.canonical_request, signer.string_to_sign

    def record_cr(r):
        seen["cr"] = real_cr(r)
        return seen["cr"]

    def record_sts(r, cr):
        seen["sts"] = real_sts(r, cr)
        return seen["sts"]

    # Record what add_auth itself computes (afterwards the request carries Authorization).
    signer.canonical_request, signer.string_to_sign = record_cr, record_sts
    with mock.patch("botocore.auth.get_current_datetime", return_value=when):
        signer.add_auth(req)
    cr, sts = seen["cr"], seen["sts"]

    if c["payload"] == "empty":
        payload_hash = None
    elif c["payload"] == "body":
        payload_hash = hashlib.sha256(data).hexdigest()
    elif c["payload"] == "unsigned":
        payload_hash = "UNSIGNED-PAYLOAD"
    else:
        payload_hash = "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
    if c["service"] == "s3":
        sent = req.headers["X-Amz-Content-SHA256"]
        assert sent == (payload_hash or botocore.auth.EMPTY_SHA256_HASH)
    out = {
        "name": c["name"],
        "method": c["method"],
        "url": wire_url(c),
        "headers": [[n, v] for n, v in c["headers"]],
        "body": c["body"],
        "payload_hash": payload_hash,
        "region": c["region"],
        "service": c["service"],
        "time": c["time"],
        "amz_date": req.context["timestamp"],
        "creds": {"access_key_id": ak, "secret_access_key": sk, "session_token": token},
        "canonical_request": cr,
        "string_to_sign": sts,
        "authorization": req.headers["Authorization"],
    }
    if c["remote"] is not None:
        out["remote"] = c["remote"]
    return out


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    default = os.path.join(here, "..", "unit", "data", "sigv4_vectors.json")
    dest = sys.argv[1] if len(sys.argv) > 1 else default
    vectors = [sign(c) for c in CASES]
    names = [v["name"] for v in vectors]
    assert len(names) == len(set(names)), "case names must be unique"
    doc_case = vectors[names.index(AWS_DOC_EXAMPLE)]
    assert doc_case["authorization"].endswith("Signature=" + AWS_DOC_SIGNATURE), doc_case
    doc = {
        "generator": "tests/tools/gen_sigv4_vectors.py",
        "botocore": botocore.__version__,
        "cases": vectors,
    }
    with open(dest, "w", encoding="utf-8") as f:
        json.dump(doc, f, indent=1, ensure_ascii=False)
        f.write("\n")
    print(f"{len(vectors)} vectors -> {os.path.normpath(dest)}")


if __name__ == "__main__":
    main()
