"""The desk on a real PostgreSQL server (started by the fixture): gammu's pgsql schema, and the
intake behaviours of test_intake run again on it."""

from __future__ import annotations

import pytest

import test_intake as on_sqlite
from deskrig import HUB_A, DeskRig, hub_text
from hubdesk import board_api
from pg_fixtures import pg_db, pg_server  # noqa: F401 (fixtures)


@pytest.fixture
def pg_rig(pg_db):
    return DeskRig(pg_db)


def test_gammu_pgsql_schema_and_boolean_processed(pg_rig):
    assert pg_rig.db.backend == "postgres"
    kind = pg_rig.db.query("SELECT data_type FROM information_schema.columns WHERE table_name = 'inbox' "
                           "AND column_name = 'Processed'")
    assert kind == [("boolean",)]  # gammu's own pgsql.sql, not the desk's minimal schema
    pg_rig.send(HUB_A, hub_text("A-101", "heartbeat", 1) + " 100%")  # a literal % must survive placeholders
    pg_rig.send(HUB_A, hub_text("A-101", "heartbeat", 2))
    assert pg_rig.run() == 2 and pg_rig.unprocessed() == 0
    assert board_api.rejects(pg_rig.db)[0].text.endswith("100%")


def test_transaction_rolls_back_on_error(pg_db):
    rig = DeskRig(pg_db)
    with pytest.raises(RuntimeError):
        with pg_db.transaction():
            pg_db.execute("INSERT INTO desk_rejects (at, sender, text, reason) VALUES (1, 'x', 'y', 'z')")
            raise RuntimeError("boom")
    assert board_api.rejects(rig.db) == []


CASES = [
    on_sqlite.test_heartbeat_and_status_update_the_flat,
    on_sqlite.test_alarm_texts_duty_escalates_and_sms_ack_is_forwarded_to_the_hub,
    on_sqlite.test_board_ack_forwards_and_refuses_twice,
    on_sqlite.test_ack_from_unknown_number_or_bad_command_is_rejected,
    on_sqlite.test_hub_silent_after_interval_plus_grace_and_ended_by_a_message,
    on_sqlite.test_system_fault_told_to_duty_only_when_open_too_long,
    on_sqlite.test_resend_counted_once_replay_rejected_gap_shown,
    on_sqlite.test_long_text_parts_joined_in_any_order_and_incomplete_ones_rejected_later,
    on_sqlite.test_outgoing_long_and_japanese_texts,
    on_sqlite.test_notes,
    on_sqlite.test_retention_prunes_old_history_and_closed_alerts,
]


@pytest.mark.parametrize("case", CASES, ids=[c.__name__[5:] for c in CASES])
def test_intake_on_postgres(pg_rig, case):
    case(pg_rig)
