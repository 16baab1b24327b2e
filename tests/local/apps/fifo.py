"""A FIFO queue whose handler fails or times out on chosen messages: groups must keep their order.

A body is ``group:n`` with an optional suffix: ``:fail`` raises on the first attempt, ``:slow``
overruns the function's timeout on the first attempt, ``:poison`` always raises. Each success is
recorded in ``done`` and, when ``FIFO_TEST_LOG`` names a file, appended to it (for run-local).
"""

import os
import threading
import time

from flowfn import App, Queue

app = App("fifoapp")
orders = Queue("orders.fifo", visibility_timeout_s=2, max_receive_count=4)
unread = Queue("unread.fifo")  # nobody consumes it: messages() reads it

lock = threading.Lock()
attempts: dict[str, int] = {}
done: list[str] = []


@app.on_sqs(orders, batch_size=10, timeout_s=1)
def take(record):
    body = record.body
    with lock:
        attempts[body] = attempts.get(body, 0) + 1
        first = attempts[body] == 1
    if body.endswith(":poison") or (first and body.endswith(":fail")):
        raise ValueError(f"refusing {body}")
    if first and body.endswith(":slow"):
        time.sleep(5)  # stopped by the timeout
    with lock:
        done.append(body)
        path = os.environ.get("FIFO_TEST_LOG")
        if path:
            with open(path, "a", encoding="utf-8") as log:
                log.write(body + "\n")
