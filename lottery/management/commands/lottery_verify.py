"""`manage.py lottery_verify ROUND [--file F]`: recompute a published draw and confirm the results.

ROUND is a round id or GROUP:YYYY-MM (facility group code and use month). With --file, the downloaded
document (entries.json) is checked instead of the one built from the database, and compared with it.
Exits 1 when anything differs."""

from __future__ import annotations

import datetime as dt
import json
from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from lottery import domain, selectors
from lottery.models import LotteryRound


def find_round(value: str) -> LotteryRound:
    if ":" in value:
        code, month = value.split(":", 1)
        try:
            use_month = dt.datetime.strptime(month, "%Y-%m").date()
        except ValueError as error:
            raise CommandError(f"利用月は YYYY-MM で指定してください (use month as YYYY-MM): {month!r}") from error
        found = LotteryRound.objects.filter(facility_group__code=code, use_month=use_month).first()
    else:
        found = LotteryRound.objects.filter(pk=int(value)).first() if value.isdigit() else None
    if found is None:
        raise CommandError(f"抽選が見つかりません (no such round): {value}")
    return found


class Command(BaseCommand):
    help = "公開した抽選を再計算して結果を検証します (Recompute a published draw and confirm identical results)."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("round", help="round id, or GROUP:YYYY-MM")
        parser.add_argument("--file", type=Path, help="a downloaded entries.json to verify")

    def handle(self, *args: Any, **options: Any) -> None:
        lottery_round = find_round(options["round"])
        document = None
        if options["file"] is not None:
            try:
                document = domain.document_from_json(json.loads(options["file"].read_text(encoding="utf-8")))
            except (OSError, ValueError, KeyError) as error:
                raise CommandError(f"ファイルを読めません (cannot read the document): {error}") from error
        check = selectors.round_verify(lottery_round, document)
        if check is None:
            raise CommandError(f"{lottery_round}: まだ公開されていません (not published yet)")
        v = check.verification
        lines = [
            f"round {lottery_round.pk} ({lottery_round}) algorithm={lottery_round.algorithm}",
            f"  seed commitment SHA-256(seed) == published commitment: {'OK' if v.commitment_ok else 'MISMATCH'}",
            f"  recomputed results == published results ({v.entries} entries): "
            + ("OK" if v.results_ok else f"MISMATCH ({v.mismatches})"),
            f"  results digest {v.recomputed_digest} == digest stored at publication: {'OK' if check.digest_ok else 'MISMATCH'}",
        ]
        self.stdout.write("\n".join(lines))
        if not check.ok:
            raise CommandError("検証に失敗しました (verification failed)")
        self.stdout.write(self.style.SUCCESS("検証しました：結果は一致しています (verified: identical results)"))
