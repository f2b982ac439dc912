import eventlet
import pytest

from shared.passwords import MAX_LENGTH, Passwords, green_passwords, password_problems


@pytest.mark.parametrize(
    ("password", "problem"),
    [
        ("short pass", "at least 12"),
        ("x" * (MAX_LENGTH + 1), "at most 128"),
        ("password1234", "too common"),
        ("Qwertyuiop123", "too common"),
        ("aaaaaaaaaaaaaaaa", "too common"),
        ("1234567890123", "too common"),
    ],
)
def test_weak_passwords_are_refused_with_a_reason(password, problem):
    assert any(problem in p for p in password_problems(password))


def test_a_password_built_from_the_email_is_refused():
    assert password_problems("tessa.tenant-2026!", email="tessa.tenant@example.com")


def test_a_long_unusual_passphrase_is_accepted_without_composition_rules():
    assert password_problems("violet lanterns drift south", email="tessa@example.com") == []


def test_hash_and_verify():
    passwords = Passwords()
    stored = passwords.hash("violet lanterns drift south")
    assert stored.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    assert passwords.verify(stored, "violet lanterns drift south")
    assert not passwords.verify(stored, "violet lanterns drift north")
    assert not passwords.verify("not a hash", "anything")
    assert passwords.verify_nothing("anything") is False


def test_hashing_under_eventlet_leaves_the_hub_free():
    """While argon2 runs, other green threads must run too (heartbeats, other workers). A ticker
    green thread records each turn it gets; the hash records when it ends. Run in the hub, the hash
    would finish before the ticker ever ran."""
    order = []
    done = False

    def ticker():
        while not done:
            order.append("tick")
            eventlet.sleep(0.001)

    thread = eventlet.spawn(ticker)
    green_passwords().hash("violet lanterns drift south")
    order.append("hashed")
    done = True
    thread.wait()

    assert order.index("hashed") > 0, "no green thread ran while the password was hashed"


def test_hashing_in_the_hub_would_starve_it():
    """The control for the test above: the same measure sees a starved hub when the hash runs inline."""
    order = []
    done = False

    def ticker():
        while not done:
            order.append("tick")
            eventlet.sleep(0.001)

    thread = eventlet.spawn(ticker)
    Passwords().hash("violet lanterns drift south")
    order.append("hashed")
    done = True
    thread.wait()

    assert order.index("hashed") == 0


def test_an_unknown_account_costs_one_verification_in_the_thread_from_the_first_one_on():
    """Same timing for known and unknown emails, the first request of a process included: the hash
    an unknown email is checked against is made when the service starts, where hashes run (a
    native thread under eventlet), never inline on the hub during a request."""
    ran = []

    def run_blocking(func, *args):
        ran.append(func.__name__)
        return func(*args)

    passwords = Passwords(run_blocking=run_blocking)
    assert ran == ["hash"]  # at start, in the thread

    ran.clear()
    assert passwords.verify_nothing("anything") is False
    assert ran == ["_verify"]  # the first unknown email: one verification, as for a known one
