from flowfn import on_schedule


@on_schedule("cron(0 3 * * ? *)")
def handle(event, context):
    return event.time
