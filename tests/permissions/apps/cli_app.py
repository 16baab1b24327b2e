"""An HTTP route that writes where it may and where it may not."""

import boto3

from flowfn import App, Bucket

app = App("permcli")
notes = Bucket("notes")
spare = Bucket("spare")


@app.on_http("POST", "/notes", uses=[notes.read(), notes.write(prefix="in/"), spare.list()])
def add_note(request):
    s3 = boto3.client("s3")
    s3.put_object(Bucket=notes.name, Key="in/note.txt", Body=b"ok")
    s3.put_object(Bucket=notes.name, Key="other/note.txt", Body=b"no")
    return {"written": 2}
