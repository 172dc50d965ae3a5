"""Unpublished results leak nowhere: extends tests/test_publication.py's crawl (every GET route as each role)
with what it leaves out: the query strings that change what a page or an export holds (?public=1, ?school=,
?order=, ?round=&judge=, ?blind=1, ?number= on the verification page), the judges' JSON API, the printing
stage (reward sheets, certificates, the register) and the contest workbook, and the override reason.

The world is tests/test_attack_surface.py's contest stopped at a computed, locked, unpublished draft; its
prize level names carry unique tags (QL1 ...), so any answer naming a prize is found."""
from __future__ import annotations

from urllib.parse import quote

import pytest

from tests.test_attack_surface import EXTRA_QUERIES, build_world, crawl, get_urls, role_client


@pytest.fixture
def draft_world(db, edition, organizer, make_user):
    return build_world(db, edition, organizer, make_user, stage="draft")


def _secrets(world) -> list[str]:
    """The prizes (by their tags), the final scores (two decimals), and the override's reason."""
    finals = [f"{row.final:.2f}" for row in world.snapshot.rows if row.final is not None]
    assert len(finals) == 3 and all(f.endswith(".00") for f in finals)
    return ["QL1", "QL2", "QL3", "QF24", *finals]


def _answers(result):
    yield from result.html.items()
    yield from result.json.items()
    yield from result.pdf.items()
    for key, cells in result.xlsx.items():
        yield key, " ".join(str(c) for c in cells)


# Query strings beyond tests/test_attack_surface.EXTRA_QUERIES that could change what is shown.
PROBES = {
    "printing.verify": ["?number={number}", "?number=%25"],
    "printing.school_rewards_pdf": ["?school={school_id}"],
    "results.public_index": ["?edition={edition_id}"],
    "results.public_snapshot": ["?public=1"],
    "results.export_public_pdf": ["?public=0", "?order=stroke"],
    "results.export_public_xlsx": ["?public=0"],
    "scoring.api_queue": ["?round={round_id}", "?all=1"],
    "scoring.judge_home": ["?round={round_id}"],
}


def test_before_publication_no_prize_score_or_reason_reaches_anyone_but_organizers(app, draft_world):
    world = draft_world
    assert world.snapshot.status == "draft"
    secrets = _secrets(world)
    ids = world.ids() | {"number": quote(world.edition.code)}
    result = crawl(app, world)
    assert not result.problems, "\n".join(result.problems)
    extra = {}
    for role in ("coordinator", "judge", "anonymous"):
        client = role_client(app, world, role)
        for endpoint, url in get_urls(app, ids):
            for query in PROBES.get(endpoint, []):
                response = client.get(url + query.format(**ids))
                extra[f"{role} {url}{query.format(**ids)}"] = response.get_data(as_text=True) \
                    if "pdf" not in response.headers.get("Content-Type", "") else ""
    leaks, seen_by_organizer = [], set()
    for key, text in [*_answers(result), *extra.items()]:
        found = [s for s in secrets if s in text]
        if key.startswith("organizer "):
            seen_by_organizer.update(found)
        elif found:
            leaks.append(f"{key}: {found}")
    assert not leaks, "\n".join(leaks)
    # The crawl does reach them where they belong: every secret is on some organizer page or export.
    assert seen_by_organizer == set(secrets), set(secrets) - seen_by_organizer
    # And the non-organizers' answers were real pages, not only refusals.
    for role in ("coordinator", "judge", "anonymous"):
        assert sum(1 for k in result.html if k.startswith(role + " ")) > 20, role


def test_the_organizers_own_crawl_covered_every_export(app, draft_world):
    """The exports a leak would travel in were all fetched by the organizer (so the check above saw them)."""
    result = crawl(app, draft_world, roles=("organizer",))
    fetched = " ".join([*result.pdf, *result.xlsx])
    for part in ("results.pdf", "results.xlsx", "schools.pdf", "schools.xlsx", "workbook.xlsx", "results.xlsx",
                 "score-sheets.pdf", "catalogue.pdf", "catalogue.xlsx", "labels.pdf", "scores-template.xlsx"):
        assert part in fetched, part
    assert "/admin/exchange/editions/" in fetched


@pytest.mark.parametrize("role", ["coordinator", "judge", "anonymous"])
def test_drafts_and_their_exports_do_not_exist_for_non_organizers(app, draft_world, role):
    """Not 403 but 404 on the public addresses, so a snapshot's existence is not confirmed either."""
    world = draft_world
    client = role_client(app, world, role)
    sid = world.snapshot.id
    for url in (f"/results/{sid}", f"/results/{sid}/list.pdf", f"/results/{sid}/list.xlsx",
                f"/results/{sid}/list.pdf?public=0"):
        assert client.get(url).status_code == 404, url
    for url in (f"/admin/results/{sid}/results.xlsx", f"/admin/results/{sid}/workbook.xlsx",
                f"/admin/exchange/editions/{world.edition.id}/results.xlsx",
                f"/admin/exchange/editions/{world.edition.id}/workbook.xlsx",
                f"/admin/editions/{world.edition.id}/rewards.xlsx"):
        assert client.get(url).status_code in (302, 403), url
    assert client.get(f"/school/editions/{world.edition.id}/rewards.pdf").status_code in (302, 403, 409)
