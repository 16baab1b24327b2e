"""flowfn graph: a Mermaid flowchart of what triggers what."""

from __future__ import annotations

from flowfn.app import App
from flowfn.synth import mermaid


def test_fixture_graph(fixture_app: App) -> None:
    text = mermaid(fixture_app)
    lines = text.splitlines()
    assert lines[0] == "flowchart LR"
    for edge in (
        '  bucket_Uploads -->|"ObjectCreated:* incoming/*.jpg"| fn_Resize',
        '  fn_Resize -->|"write processed/*"| bucket_Uploads',
        '  fn_Resize -->|"send"| queue_Jobs',
        '  queue_Jobs -->|"batch 50"| fn_Work',
        '  queue_Jobs -.->|"dead letters"| queue_JobsDlq',
        '  fn_Morning_schedule --> fn_Morning',
        '  fn_GetReport_route --> fn_GetReport',
        '  fn_SubmitOrder -->|"send"| queue_OrdersFifo',
        '  bucket_Archive -.->|"read 2024/*"| fn_Work',
    ):
        assert edge in lines, edge
    assert '  fn_Morning_schedule(["cron(30 8 ? * MON-FRI *) Europe/Paris"])' in lines
    assert '  bucket_Archive[("bucket archive (existing)")]' in lines
    assert sum(line.startswith("  fn_") and "(" in line and "-->" not in line and "_" not in line[5:]
               for line in lines) >= 1
    # Every node an edge names is declared.
    declared = {line.split("[")[0].split("(")[0].split("{")[0].strip() for line in lines[1:] if "--" not in line}
    for line in lines:
        if "--" in line:
            parts = line.split()
            assert parts[0] in declared and parts[-1] in declared, line
    assert mermaid(fixture_app) == text


def test_a_granted_dead_letter_queue_is_drawn_once() -> None:
    from flowfn.app import App
    from flowfn.resources import Queue

    app = App("g")
    events = Queue("events")
    assert events.dlq is not None
    app.on_sqs(events, name="consume")(lambda record, context: None)
    app.on_http("GET", "/dead", name="peek", uses=[events.dlq.consume()])(lambda request: None)
    lines = mermaid(app).splitlines()
    assert lines.count('  queue_EventsDlq[["queue events-dlq"]]') == 1
    assert '  queue_EventsDlq -.->|"consume"| fn_Peek' in lines
