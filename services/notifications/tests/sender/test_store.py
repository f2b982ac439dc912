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
