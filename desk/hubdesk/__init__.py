"""hubdesk: the housing office's desk for hubd (issue 17).

It reads every hub's SMS from gammu-smsd's SQL database, keeps each flat's state, raises
``hub_silent`` when a heartbeat is overdue, texts the duty staff and forwards their ACKs to
the hubs. See ``docs/desk.md``.
"""
