"""An embedded SMTP sink: accepts every email, keeps it in memory, shows it on a local page.

Run it for a local platform (the notifications sender pointed at 127.0.0.1:1025):

    python -m devtools.smtp_sink [--host 127.0.0.1] [--smtp-port 1025] [--http-port 8025]
                                 [--max-messages 10000]

then open http://127.0.0.1:8025/ and click the invitation link. Tests start one in a thread on free
ports (`devtools.smtp_sink.server.SmtpSink`) and read it with the stdlib-only
`devtools.sink_client.SinkClient`:

    with SmtpSink() as sink:
        client = sink.client()
        ...send...
        [email] = client.wait_for("tenant@example.com")

One process, one asyncio event loop: the SMTP server (aiosmtpd) and the web page and JSON API
(Starlette served by uvicorn) share it. Fault rules and counters are touched from that loop only;
the email store is locked, because the pages that parse emails run in Starlette's thread pool.

Its parts, one a module:
    messages.py   an accepted email and its parse (headers, bodies, links)
    state.py      what the sink keeps: the email store, the counters, the fault rules
    faults.py     fault rules: what the SMTP side does instead of accepting
    smtp.py       the SMTP side (aiosmtpd handler, AUTH, keeping bodies out of logs)
    web.py        the mail viewer (Jinja2 templates in templates/) and the JSON API
    server.py     `SmtpSink`: both servers on one loop, in the foreground or a thread
    cli.py        the command line (`python -m devtools.smtp_sink`, `portal-smtp-sink`)

SMTP: no TLS; AUTH (PLAIN, LOGIN) accepts any credentials, so a sender configured with some works;
connections stay open for as many messages as the client sends (RSET between them is fine).
Fault rules (`FaultRule`): `reply` answers at the RCPT stage, per recipient; `delay_ms` and
`drop_connection` act at the DATA stage, after the content arrived and before the reply;
`command_delay_ms` waits before every reply of every connection (a slow server). An email is
stored, and counted as accepted, when DATA is answered 250 (with `command_delay_ms`, just before
that 250 is delayed).

HTTP routes:
    GET  /                      received emails, newest first (`?refresh=5` reloads every 5 s)
    GET  /messages/{id}         one email: headers, links, HTML body (sandboxed iframe), text body
    GET  /messages/{id}/raw     its raw source as text/plain
    GET  /api/messages          [{id, received_at, mail_from, rcpt_tos, subject, from, to, message_id,
                                  text, html, links}], oldest first; `?to=` keeps the emails with that
                                  envelope recipient (case-insensitive, exact); text and html are ""
                                  when the email has no such part; links are the http(s) links of both
    GET  /api/messages/{id}     the same plus headers and raw
    DELETE /api/messages        forget every email (ids keep increasing; counters are kept)
    GET|POST|PUT|DELETE /api/faults   list, add, replace, clear the fault rules (see `FaultRule`)
    GET  /api/stats             {"accepted", "rejected", "dropped", "evicted"} since start
    GET  /healthz               {"status": "ok"}

Security: the page shows live invitation links, so it listens on 127.0.0.1 unless told otherwise,
and nothing it logs contains a body or a link (aiosmtpd's DEBUG records, which echo every DATA
line, are filtered out).
"""
