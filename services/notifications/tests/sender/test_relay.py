"""The sender's event relay on its own, without servers: when it publishes."""

import asyncio

from notifications.sender.relay import EventRelay


class CountingRelay(EventRelay):
    """Counts the batches it would publish; the outbox is always empty."""

    def __init__(self, linger_seconds: float) -> None:
        super().__init__(
            engine=None,  # type: ignore[arg-type]
            amqp_uri="amqp://unused",
            batch_size=100,
            poll_seconds=10,
            linger_seconds=linger_seconds,
        )
        self.batches = 0

    async def publish_batch(self) -> int:
        self.batches += 1
        return 0


async def _wake_five_times_then_stop(relay: CountingRelay) -> None:
    stop = asyncio.Event()
    running = asyncio.create_task(relay.run(stop))
    await asyncio.sleep(0.02)  # its first batch, at start
    for _ in range(5):  # five results written 5 ms apart
        relay.wake()
        await asyncio.sleep(0.005)
    await asyncio.sleep(0.5)
    stop.set()
    relay.wake()
    await asyncio.wait_for(running, 5)


def test_results_written_close_together_go_out_in_one_batch():
    relay = CountingRelay(linger_seconds=0.3)

    asyncio.run(_wake_five_times_then_stop(relay))

    # At start, one for the five results, and the last one on stopping.
    assert relay.batches == 3


def test_without_a_linger_each_result_is_a_batch_of_its_own():
    relay = CountingRelay(linger_seconds=0)

    asyncio.run(_wake_five_times_then_stop(relay))

    assert relay.batches == 7
