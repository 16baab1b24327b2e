from chalice import Chalice, Cron

app = Chalice(app_name="bench")


@app.schedule(Cron(0, 3, "*", "*", "?", "*"))
def handle(event):
    return event.time
