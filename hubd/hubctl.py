"""hubctl: the technician client (talks to the daemon over its control socket)."""
import sys


def main(argv=None) -> int:
    print("hubctl: not built yet", file=sys.stderr)
    return 1
