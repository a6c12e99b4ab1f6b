"""Contract numbers are given once each under concurrency (PostgreSQL: real row locks)."""

from __future__ import annotations

import threading

import pytest

from tests.plugins.contracts.conftest import Office


@pytest.mark.postgresql
def test_concurrent_contracts_get_distinct_consecutive_numbers(office: Office) -> None:
    from loandesk_contracts import service

    numbers: list[str] = []
    problems: list[BaseException] = []
    start = threading.Barrier(8)

    def take() -> None:
        try:
            start.wait()
            with office.app.app_context(), office.session() as session:
                numbers.append(service.next_number(session, 2031))
        except BaseException as problem:
            problems.append(problem)

    threads = [threading.Thread(target=take) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert problems == []
    assert sorted(numbers) == [f"HT2031{n:06d}" for n in range(1, 9)]


def test_numbers_start_again_each_year(office: Office) -> None:
    from loandesk_contracts import service

    with office.app.app_context(), office.session() as session:
        got = [service.next_number(session, year) for year in (2030, 2030, 2031)]
    assert got == ["HT2030000001", "HT2030000002", "HT2031000001"]
