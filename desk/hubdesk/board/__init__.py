"""The office board: a log-in-only web page of every flat, served by ``hubdesk``.

``create_board_tables`` and ``add_user`` are for ``hubdesk user add``; ``make_server`` serves it.
"""

from .auth import AuthError, add_user, create_board_tables
from .server import BoardServer, make_server

__all__ = ["AuthError", "BoardServer", "add_user", "create_board_tables", "make_server"]
