"""The per-client cap: reserve up to the cap, release, expire."""
import time

from tunesmith.fairness import ClientJobs, client_address


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


def test_the_client_is_the_address_the_trusted_proxy_saw_never_what_the_client_wrote():
    # Behind one proxy on a private network: the proxy appends the address it saw, last.
    assert client_address("10.16.3.80", "203.0.113.7", hops=1) == "203.0.113.7"
    assert client_address("10.16.3.80", "1.2.3.4, 203.0.113.7", hops=1) == "203.0.113.7"  # 1.2.3.4: forged
    assert client_address("10.16.3.80", "1.2.3.4, 203.0.113.7, 10.0.0.2", hops=2) == "203.0.113.7"
    # A public peer is the client, whatever it writes in the header; no header: the peer.
    assert client_address("8.8.8.8", "1.2.3.4", hops=1) == "8.8.8.8"
    assert client_address("127.0.0.1", None, hops=1) == "127.0.0.1"
    assert client_address("10.0.0.5", "1.2.3.4", hops=0) == "10.0.0.5"
    assert client_address(None, "", hops=1) == "unknown"
