"""manage.py lottery_verify, lottery_tick and seed_lottery_demo."""

from __future__ import annotations

import json
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from lottery import selectors
from lottery.models import LotteryOutcome, LotteryRound, RoundState
from tests.factories import ResidentFactory
from tests.lottery.conftest import apply, close_and_draw

pytestmark = pytest.mark.django_db


def run(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


@pytest.mark.smoke
def test_lottery_verify_confirms_a_published_round_and_catches_a_tampered_file(hall, lottery_round, tmp_path: Path):
    with pytest.raises(CommandError):
        run("lottery_verify", str(lottery_round.pk))  # not published yet
    for _ in range(4):
        apply(ResidentFactory(), hall)
    close_and_draw(lottery_round)
    lottery_round.refresh_from_db()
    assert "identical results" in run("lottery_verify", str(lottery_round.pk))
    assert "identical results" in run("lottery_verify", f"{lottery_round.facility_group.code}:2027-01")

    document = selectors.round_document(lottery_round)
    assert document is not None
    published = tmp_path / "entries.json"
    published.write_text(json.dumps(document.as_json()), encoding="utf-8")
    assert "identical results" in run("lottery_verify", str(lottery_round.pk), "--file", str(published))
    tampered = document.as_json()
    winner = next(i for i, r in enumerate(tampered["results"]) if r["outcome"] == "won")
    loser = next(i for i, r in enumerate(tampered["results"]) if r["outcome"] != "won")
    tampered["results"][winner], tampered["results"][loser] = tampered["results"][loser], tampered["results"][winner]
    published.write_text(json.dumps(tampered), encoding="utf-8")
    with pytest.raises(CommandError, match="verification failed"):
        run("lottery_verify", str(lottery_round.pk), "--file", str(published))


def test_seed_lottery_demo_gives_an_open_round_and_a_finished_one_with_results():
    call_command("seed_demo", seed=3, residents=300, stdout=StringIO())
    out = run("seed_lottery_demo")
    assert "/lottery/rounds/" in out
    now = timezone.now()
    open_rounds = selectors.rounds_in_intake(now)
    assert open_rounds and open_rounds[0].entries.exists()
    finished = LotteryRound.objects.get(state=RoundState.FINISHED)
    assert LotteryOutcome.objects.filter(round=finished).exists()
    check = selectors.round_verify(finished)
    assert check is not None and check.ok
    assert "省略" in run("seed_lottery_demo", "--if-empty")
    assert "drawn=0" in run("lottery_tick")
