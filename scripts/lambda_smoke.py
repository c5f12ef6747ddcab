"""Helpers of scripts/lambda-smoke.sh, run with the project's .venv (moto brings boto3).

  moto PORT                     serve moto on 127.0.0.1:PORT, one request at a time
  provision ENDPOINT TABLE Q    create the table (layout of src/adapters/aws/table.rs) and the
                                step queue with its dead-letter queue; print the queue URL
  from-table ENDPOINT TABLE EVENT OUT   write EVENT with @TICKET_ID@ and @REFERENCE@ filled in from a
                                ticket the invocations above stored (a step delivered again)
  check RESPONSE EXPECT...      check a function's JSON response (see invoke.txt)
"""

import json
import sys


def moto(port):
    # Same as tests/it/support/moto.rs: moto's DynamoDB backend is not thread-safe.
    import moto.server as server

    run_simple = server.run_simple

    def serial(*args, **kwargs):
        kwargs["threaded"] = False
        return run_simple(*args, **kwargs)

    server.run_simple = serial
    server.main(["-H", "127.0.0.1", "-p", port])


def clients(endpoint, *extra):
    import boto3

    kw = dict(endpoint_url=endpoint, region_name="eu-south-1", aws_access_key_id="testing",
              aws_secret_access_key="testing")
    return tuple(boto3.client(name, **kw) for name in ("dynamodb", "sqs", *extra))


def provision(endpoint, table, queue):
    dynamodb, sqs, ses = clients(endpoint, "ses")
    attrs = ["pk", "sk", "queue_pk", "queue_sk", "rq_email", "rq_phone", "rq_fiscal_code", "rq_sk",
             "closed_pk", "closed_sk", "open_pk", "open_sk"]
    indexes = [("by_queue", "queue_pk", "queue_sk"), ("by_email", "rq_email", "rq_sk"),
               ("by_phone", "rq_phone", "rq_sk"), ("by_fiscal_code", "rq_fiscal_code", "rq_sk"),
               ("by_closed", "closed_pk", "closed_sk"), ("by_open", "open_pk", "open_sk")]
    dynamodb.create_table(
        TableName=table,
        BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[{"AttributeName": a, "AttributeType": "S"} for a in attrs],
        GlobalSecondaryIndexes=[{
            "IndexName": name,
            "KeySchema": [{"AttributeName": pk, "KeyType": "HASH"}, {"AttributeName": sk, "KeyType": "RANGE"}],
            "Projection": {"ProjectionType": "ALL"},
        } for name, pk, sk in indexes],
    )
    dynamodb.update_time_to_live(TableName=table,
                                 TimeToLiveSpecification={"AttributeName": "expires_at", "Enabled": True})
    dlq = sqs.create_queue(QueueName=queue + "-dlq")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    policy = json.dumps({"deadLetterTargetArn": arn, "maxReceiveCount": 5})
    url = sqs.create_queue(QueueName=queue, Attributes={"RedrivePolicy": policy})["QueueUrl"]
    # The mailbox's domain, as the deployment verifies it in SES (rulebook `email.from`).
    ses.verify_domain_identity(Domain="sportello.pagopa.it")
    print(url)


def from_table(endpoint, table, event_path, out):
    dynamodb, _ = clients(endpoint)
    items = dynamodb.scan(TableName=table, FilterExpression="sk = :t",
                          ExpressionAttributeValues={":t": {"S": "TICKET"}}).get("Items", [])
    if not items:
        sys.exit("from-table: no ticket is stored in the table")
    ticket = items[0]
    text = open(event_path).read()
    text = text.replace("@TICKET_ID@", ticket["pk"]["S"].removeprefix("T#"))
    text = text.replace("@REFERENCE@", ticket["reference"]["S"])
    open(out, "w").write(text)
    print(f"the step of stored ticket {ticket['reference']['S']} + the fixture's other records")


def check(response_path, *expects):
    text = open(response_path).read()
    try:
        response = json.loads(text)
    except ValueError:
        sys.exit(f"the response is not JSON: {text[:500]}")
    body = None
    failed = []
    for e in expects:
        if "~" in e and "=" not in e:
            key, prefix = e.split("~", 1)
            got = response.get(key) if isinstance(response, dict) else None
            ok = isinstance(got, str) and got.startswith(prefix)
        else:
            key, want = e.split("=", 1)
            if key == "batchItemFailures":
                got = sorted(f["itemIdentifier"] for f in response.get("batchItemFailures", []))
                ok = got == sorted(w for w in want.split(",") if w and w != "-")
            elif key.startswith("body."):
                if body is None:
                    body = json.loads(response.get("body") or "null")
                got = body.get(key[5:]) if isinstance(body, dict) else None
                ok = str(got).lower() == want.lower() if isinstance(got, bool) else str(got) == want
            else:
                got = response.get(key) if isinstance(response, dict) else None
                ok = str(got).lower() == want.lower() if isinstance(got, bool) else str(got) == want
        if not ok:
            failed.append(f"{e} (got {got!r})")
    if failed:
        sys.exit("unexpected response: " + "; ".join(failed) + "\n" + text[:2000])


if __name__ == "__main__":
    command, args = sys.argv[1], sys.argv[2:]
    {"moto": moto, "provision": provision, "from-table": from_table,
     "check": check}[command](*args)
