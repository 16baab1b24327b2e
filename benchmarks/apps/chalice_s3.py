from chalice import Chalice

app = Chalice(app_name="bench")


@app.on_s3_event(bucket="uploads")
def handle(event):
    return event.key
