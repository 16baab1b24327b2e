from chalice import Chalice

app = Chalice(app_name="bench")


@app.on_sqs_message(queue="jobs", batch_size=10)
def handle(event):
    # Chalice has no partial-failure reporting of its own: the same behaviour, written by hand.
    failures = []
    for record in event:
        try:
            if record.body == "fail":
                raise ValueError("bad record")
        except Exception:
            failures.append({"itemIdentifier": record.to_dict()["messageId"]})
    return {"batchItemFailures": failures}
