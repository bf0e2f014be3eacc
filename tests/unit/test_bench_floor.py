"""The benchmark's minimums: what a run cannot do with fewer calls or in less time."""

from __future__ import annotations

from bench.scenarios import S1, S3, Shape, floor_seconds, pages


def test_pages_round_up_and_an_empty_listing_is_one_call() -> None:
    assert [pages(n, 100) for n in (0, 1, 100, 101, 10_000)] == [1, 1, 1, 2, 100]


def test_s1_minimum_is_twelve_list_pages() -> None:
    # 150 rules: 2 pages; 50 packs: 1 page; 50 account packs at 20 a page: 3 pages; 2 regions
    assert S1.min_list_calls() == 12


def test_floor_is_the_longest_list_chain_then_the_spread_detail() -> None:
    # S1: the three account-pack pages are the longest chain
    assert floor_seconds(0.03, S1, [], concurrency=8) == 0.03 * 3
    # S2 unfiltered: then one pack's 10 detail pages, one after another
    assert round(floor_seconds(0.03, S1, [10], concurrency=8), 6) == round(0.03 * 13, 6)
    # S3 and S5: 5 unhealthy rules and packs of 6 filtered calls each, side by side, after 2
    # rule pages
    assert round(floor_seconds(0.03, S3, [6] * 5, concurrency=8), 6) == round(0.03 * (2 + 6), 6)
    # (and were every member of 200 read, 100 pages each over 8 workers)
    assert round(floor_seconds(0.03, S3, [100] * 200, concurrency=8), 6) == round(
        0.03 * (2 + 2500), 6
    )


def test_too_little_concurrency_spreads_the_lists_too() -> None:
    shape = Shape(accounts=1, regions=("a-b-1", "c-d-2"), org_rules=1, org_packs=1, account_packs=1)
    assert floor_seconds(1.0, shape, [], concurrency=2) == 3
