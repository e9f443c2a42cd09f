import pytest

from config import celery_app


def _reset_pools() -> None:
    celery_app._pool = None
    celery_app.amqp._producer_pool = None


@pytest.fixture
def memory_broker(settings):
    """Celery on kombu's in-memory transport: a real broker, in this process, so a test can
    read what was queued (and nothing lands in var/broker). The transport's queues live as
    long as the process, so the lab's queue is drained first: a run an earlier test queued
    and left there is not this test's."""
    conf = celery_app.conf
    saved = conf.broker_url, conf.broker_transport_options
    conf.broker_url, conf.broker_transport_options = "memory://", {}
    _reset_pools()
    queued(celery_app, settings.LAB_TRAFFIC_QUEUE)
    yield celery_app
    conf.broker_url, conf.broker_transport_options = saved
    _reset_pools()


def queued(app, queue: str) -> list[dict]:
    """Drain the messages waiting on `queue`: each task's name and arguments."""
    out = []
    with app.connection_for_read() as conn:
        simple = conn.SimpleQueue(queue)
        while True:
            try:
                message = simple.get(block=False)
            except simple.Empty:
                break
            out.append({"task": message.headers["task"], "args": message.payload[0]})
            message.ack()
        simple.close()
    return out


def flat_world(folder, *, titles: int = 40, members: int = 8, seed: int = 1):
    """Write a small simulated world whose members visit once a day at any hour (a 12-hour
    spread around their peak is flat over the day), so a traffic run's visits do not depend
    on the time of day the test runs at."""
    import dataclasses

    import numpy as np

    from simulator.world import World

    world = World.generate(titles, members, seed=seed)
    n = world.n_members
    flat = dataclasses.replace(world, activity=np.ones(n), hour_spread=np.full(n, 12.0))
    flat.save(folder)
    return folder


@pytest.fixture
def world(tmp_path, settings):
    """A tiny simulated world on disk, which the lab's traffic runs drive."""
    settings.LAB_WORLD_DIR = flat_world(tmp_path / "world")
    return settings.LAB_WORLD_DIR
