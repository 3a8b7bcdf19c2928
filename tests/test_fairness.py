"""The per-client cap: reserve up to the cap, release, expire."""
import time

from tunesmith.fairness import ClientJobs


def test_a_client_gets_at_most_its_cap_and_others_are_not_affected():
    jobs = ClientJobs(cap=3, ttl=60)
    assert [jobs.reserve("a") for _ in range(4)] == [True, True, True, False]
    assert jobs.reserve("b") and jobs.count("a") == 3
    jobs.release("a")
    assert jobs.reserve("a") and not jobs.reserve("a")


def test_reservations_expire_and_forgotten_clients_leave_no_record():
    jobs = ClientJobs(cap=1, ttl=0.2)
    assert jobs.reserve("a") and not jobs.reserve("a")
    time.sleep(0.25)
    assert jobs.reserve("a")  # the stale one expired
    jobs.release("a")
    jobs.release("never-seen")  # releasing nothing is harmless
    assert jobs.count("a") == 0 and jobs.clients() == 0
