import socket

from hubd.sdnotify import Notifier


def test_ready_and_watchdog_over_a_real_datagram_socket(tmp_path):
    path = str(tmp_path / "notify.sock")
    server = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    server.bind(path)
    server.settimeout(2)
    notifier = Notifier(address=path, watchdog_usec="4000000")
    assert notifier.watchdog_interval == 4.0
    assert notifier.ready("watching 3 sensors")
    assert server.recv(4096).decode().split("\n") == ["READY=1", "STATUS=watching 3 sensors"]
    assert notifier.watchdog()
    assert server.recv(4096) == b"WATCHDOG=1"
    notifier.close()
    server.close()


def test_abstract_socket_address():
    name = "@hubd-test-notify"
    server = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    server.bind("\0hubd-test-notify")
    server.settimeout(2)
    assert Notifier(address=name).stopping()
    assert server.recv(100) == b"STOPPING=1"
    server.close()


def test_without_systemd_nothing_happens():
    notifier = Notifier(address="", watchdog_usec="")
    assert not notifier.enabled and notifier.watchdog_interval is None
    assert notifier.ready() is False
