"""The sender's claims and results on the real database, without SMTP."""

import asyncio

from notifications.sender import store


def run(settings, work):
    """asyncio.run(work(engine)) with a fresh sender engine."""

    async def main():
        engine = store.make_async_engine(settings)
        try:
            return await work(engine)
        finally:
            await engine.dispose()

    return asyncio.run(main())


def ours(jobs, rows):
    ids = {row.id for row in rows}
    return [job for job in jobs if job.id in ids]


def test_concurrent_claims_never_take_the_same_delivery(settings, deliveries, invitation_sent):
    rows = [deliveries.queue(invitation_sent()) for _ in range(12)]

    async def claim_twice(engine):
        return await asyncio.gather(*(store.claim(engine, 1000, 30) for _ in range(2)))

    first, second = run(settings, claim_twice)
    mine_first, mine_second = ours(first, rows), ours(second, rows)
    assert {job.id for job in mine_first}.isdisjoint(job.id for job in mine_second)
    assert {job.id for job in mine_first + mine_second} == {row.id for row in rows}
    assert all(job.attempts == 1 and not job.suppressed for job in mine_first + mine_second)
    assert all(deliveries.get(row.id).status == "sending" for row in rows)

    async def give_all_back(engine):
        return [await store.give_back(engine, job) for job in first + second]

    assert all(run(settings, give_all_back))


def test_a_given_back_delivery_is_queued_again_without_counting_the_attempt(
    settings, deliveries, invitation_sent
):
    row = deliveries.queue(invitation_sent())

    async def claim_and_give_back(engine):
        [job] = ours(await store.claim(engine, 1000, 30), [row])
        return await store.give_back(engine, job)

    assert run(settings, claim_and_give_back)
    back = deliveries.get(row.id)
    assert (back.status, back.attempts, back.lease_until) == ("queued", 0, None)


def test_a_result_for_a_claim_another_sender_took_over_is_dropped_with_no_event(
    settings, deliveries, invitation_sent
):
    row = deliveries.queue(invitation_sent())

    async def race(engine):
        [stale] = ours(await store.claim(engine, 1000, 30), [row])
        deliveries.execute(
            "UPDATE notifications.deliveries SET lease_until = now() - interval '1 second' WHERE id = :id",
            id=row.id,
        )
        [fresh] = ours(await store.claim(engine, 1000, 30), [row])
        late = row.id in await store.record_sent(engine, [(stale, "250 from the slow sender")])
        current = row.id in await store.record_sent(engine, [(fresh, "250 from the new sender")])
        again = await store.record_failed(engine, fresh, 550, "too late")
        return stale, fresh, late, current, again

    stale, fresh, late, current, again = run(settings, race)
    assert (stale.attempts, fresh.attempts) == (1, 2)
    assert (late, current, again) == (False, True, False)
    done = deliveries.get(row.id)
    assert (done.status, done.smtp_reply) == ("sent", "250 from the new sender")
    events = (
        deliveries.execute(
            "SELECT event_type FROM notifications.outbox WHERE payload->>'delivery_id' = :id ORDER BY id",
            id=str(row.id),
        )
        .scalars()
        .all()
    )
    assert events == ["delivery_queued", "delivery_succeeded"]


def test_every_statement_of_the_sender_has_a_timeout(settings):
    from sqlalchemy import text

    async def show(engine):
        async with engine.connect() as conn:
            return await conn.scalar(text("SHOW statement_timeout"))

    assert run(settings, show) == "30s"


def test_results_saved_together_write_only_the_claims_still_held(settings, deliveries, invitation_sent):
    rows = [deliveries.queue(invitation_sent()) for _ in range(3)]

    async def race(engine):
        jobs = ours(await store.claim(engine, 1000, 30), rows)
        taken_over = jobs[0]
        deliveries.execute(
            "UPDATE notifications.deliveries SET attempts = attempts + 1 WHERE id = :id", id=taken_over.id
        )
        return taken_over, await store.record_sent(engine, [(job, f"250 ok {job.id}") for job in jobs])

    taken_over, written = run(settings, race)
    assert written == {row.id for row in rows} - {taken_over.id}
    for row in rows:
        saved = deliveries.get(row.id)
        if row.id == taken_over.id:
            assert saved.status == "sending"
        else:
            assert (saved.status, saved.smtp_reply) == ("sent", f"250 ok {row.id}")
    succeeded = (
        deliveries.execute(
            "SELECT payload->>'delivery_id' FROM notifications.outbox WHERE event_type = 'delivery_succeeded'"
        )
        .scalars()
        .all()
    )
    assert str(taken_over.id) not in succeeded
    assert {str(row.id) for row in rows if row.id != taken_over.id} <= set(succeeded)
