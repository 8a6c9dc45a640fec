"""The pure core: events in, actions out, no I/O and no clock of its own.

The engine (modes, heartbeat, the alert policy), sensor health, the office's SMS commands
and the texts the hub sends. Replay, the simulator and the daemon all drive this same code;
nothing here imports a driver or a shell (``tests/test_imports.py`` holds it to that).
"""
