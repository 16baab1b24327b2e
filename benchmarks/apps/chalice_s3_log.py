import logging

from chalice import Chalice

app = Chalice(app_name="bench-log")
app.log.setLevel(logging.INFO)  # Chalice's log writes ERROR and above unless told otherwise


@app.on_s3_event(bucket="uploads")
def handle(event):
    app.log.info("resized %s", event.key)
    return event.key
