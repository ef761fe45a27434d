"""The crash guard: a message that keeps taking its worker process down is dead-lettered
instead of being run again. Apart from the consumers (shared/consumer.py), whose module an
HTTP function loads without Dramatiq: only a worker's broker takes this middleware."""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from contextvars import ContextVar
from typing import Any

import dramatiq
from dramatiq import Message
from dramatiq.broker import MessageProxy
from dramatiq.common import q_name
from dramatiq.middleware import Middleware

from shared.combining import Combiner
from shared.consumer import APPLIED_PK, BATCH_LIMIT, DELIVERY_PREFIX, _Delivery, _delivery
from shared.tables import ConditionFailed, Delete, Item, Put, Table

log = logging.getLogger("atende.consumer")


# --- deliveries that take their worker down ---------------------------------------------

# A message whose processing started this many times and never finished (its worker died
# under it each time) is dead-lettered instead of being run again.
CRASH_LIMIT = 3
# What a batch of first starts made of one: whether its record was read, and the record;
# ``_COUNTED``: it had none, and its first start is now counted.
_Read = tuple[bool, Item | None]
_COUNTED: _Read = (True, None)


class _Run:
    """A message's run under the guard: whether it runs alone (a suspect), and where its
    start was counted (its table and record key; None: not counted)."""

    __slots__ = ("suspect", "where")

    def __init__(self, suspect: bool, where: tuple[Table, str] | None) -> None:
        self.suspect = suspect
        self.where = where


class _RunLock:
    """Many ordinary messages at once, or one suspect alone: a message that was running
    when its worker died runs by itself next time, so only the culprit of a crash is
    charged for the next one, not the innocent messages that shared the process."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._shared = 0
        self._exclusive = False
        self._waiting = 0
        # Shared holds by this thread: a thread that runs a batch (shared.batch_worker)
        # takes one per message, and a later one must not wait for a suspect that waits
        # for the thread's earlier ones.
        self._mine = threading.local()

    def acquire(self, exclusive: bool) -> None:
        with self._cond:
            mine = getattr(self._mine, "n", 0)
            if not (exclusive or self._exclusive or self._waiting) or (
                    mine and not exclusive):
                self._shared += 1  # the common case, without wait_for's predicate calls
                self._mine.n = mine + 1
                return
            if exclusive:
                self._waiting += 1
                self._cond.wait_for(lambda: not self._exclusive and self._shared == 0)
                self._waiting -= 1
                self._exclusive = True
            else:
                self._cond.wait_for(lambda: not self._exclusive and self._waiting == 0)
                self._shared += 1
                self._mine.n = 1

    def release(self, exclusive: bool) -> None:
        with self._cond:
            if exclusive:
                self._exclusive = False
            else:
                self._shared -= 1
                self._mine.n = getattr(self._mine, "n", 1) - 1
                if not self._waiting:
                    # Only a suspect waits on a shared hold's release: the ordinary
                    # messages blocked behind one were woken when it went.
                    return
            self._cond.notify_all()


def _delivery_key(message: Message[Any] | MessageProxy) -> str:
    """The crash guard's record of a message: by its outbox entry when it has one."""
    ref = message.options.get("outbox")
    key = f"{ref[0]}#{ref[1]}" if ref else message.message_id
    return f"{DELIVERY_PREFIX}{key}"


def _broker_counts(broker: dramatiq.Broker, message: MessageProxy) -> bool:
    counts = getattr(broker, "counts_deliveries", None)
    return counts is not None and bool(counts(message.queue_name))


class CrashGuard(Middleware):
    """Dead-letters a message that keeps killing its worker process.

    Dramatiq counts retries only when an actor raises; a worker killed mid-message (out of
    memory, a crash in native code, SIGKILL) has its message redelivered uncounted, so such
    a message would kill every worker forever. Before running a message the guard counts
    the start in the consuming service's table (committed, so a crash cannot lose it) and
    clears it when the run ends, however it ends: what is left counts crashes. At
    ``limit`` the message is failed without running, which dead-letters it. The count is
    keyed by the outbox entry when there is one, so a resend of the same entry (the
    in-process broker's recovery) counts too.

    The guard's own records are committed without waiting for the store's disk
    (``durable=False``): they must outlive the worker process, which such a commit does,
    not the store's server (on PostgreSQL that wait, a WAL flush, was most of the
    guard's time). Only a crash of the server within a fraction of a second of a start
    can lose it, and then the count is one short for that one message. An effect's
    commit, which clears the count with it, is durable as every other write.

    Where the broker counts deliveries (RabbitMQ's quorum queues: the broker's
    ``counts_deliveries``), a message it hands out for the first time never ran anywhere:
    it runs with no read and no record, nothing to clear. Only a redelivery is guarded: a
    suspect, run alone, counted from one (its first, unwritten, run). The broker's own
    delivery limit cannot stand in for that: it also charges the messages a dying worker
    had only prefetched, so the innocent messages that came back with a poison one would
    be dead-lettered with it; run alone, they finish and are not charged again. The outbox
    may send one entry as several messages (a resend after a store outage), each copy's
    first run unwritten: copies of a poison message, rare, each take down one worker more
    than ``limit`` allows. (SQS, whose redrive policy counts receives, has no guard.)
    """

    def __init__(self, tables: dict[str, Table], limit: int = CRASH_LIMIT) -> None:
        self.tables = tables  # by queue name
        self.limit = limit
        self.lock = _RunLock()
        # Per run's context (a worker thread's, or each message's in a batch), not per
        # message id: two deliveries of one message can run at once (RabbitMQ hands it
        # again to a reconnected consumer while the first run goes on), and keyed by id
        # the second would overwrite the first's hold, which would then never be released
        # and stall the next suspect and everything behind it.
        self._run: ContextVar[_Run | None] = ContextVar("crash_guard_run", default=None)
        # Starts counted with their batch (``before_process_batch``), by message proxy:
        # one delivery's, which its run then takes.
        self._prepared: dict[int, tuple[Table, str]] = {}
        self._starts: Combiner[tuple[Table, str], _Read] = Combiner(self._count_first_starts,
                                                                    limit=BATCH_LIMIT)

    def before_process_batch(self, broker: dramatiq.Broker, messages: Sequence[MessageProxy]
                             ) -> set[int]:
        """Messages one thread is about to run as a batch (``shared.batch_worker``): the
        first starts of those the broker does not count, counted in one read and one
        transaction, each after its shared hold, as ``_first_start`` does for threads.
        Returns the ``id`` of each message that must run alone instead, its hold let go:
        one with a record already (a suspect, or a copy counted elsewhere)."""
        starts: list[tuple[Table, str]] = []
        which: list[MessageProxy] = []
        for message in messages:
            table = self.tables.get(q_name(message.queue_name))
            if table is None or _broker_counts(broker, message):
                continue
            self.lock.acquire(False)
            starts.append((table, _delivery_key(message)))
            which.append(message)
        try:
            reads = self._count_first_starts(starts) if starts else []
        except BaseException:
            for _ in which:
                self.lock.release(False)
            raise
        alone: set[int] = set()
        for message, start, read in zip(which, starts, reads, strict=True):
            if read == _COUNTED:
                self._prepared[id(message)] = start
            else:
                self.lock.release(False)
                alone.add(id(message))
        return alone

    def before_process_message(self, broker: dramatiq.Broker, message: MessageProxy) -> None:
        table = self.tables.get(q_name(message.queue_name))
        if table is None:
            return
        if (start := self._prepared.pop(id(message), None)) is not None:
            self._counted(*start)  # counted with its batch, its hold taken
            return
        redelivered = getattr(message, "redelivered", None)  # RabbitMQ alone says
        first = redelivered is False
        counted = _broker_counts(broker, message)
        if counted and first:  # the common case: nothing to read, no key to make
            self.lock.acquire(False)
            self._run.set(_Run(False, None))
            return
        sk = _delivery_key(message)
        read: _Read = (False, None)
        if not counted:
            read = self._first_start(table, sk)
            if read == _COUNTED:
                return
        item = read[1] if read[0] else table.get(APPLIED_PK, sk)
        suspect = item is not None or counted
        self.lock.acquire(suspect)
        self._run.set(_Run(suspect, (table, sk)))
        _delivery.set(_Delivery(table.name, sk))
        if self._count_start(table, sk, message.message_id, item, redelivered is True,
                             unwritten=counted) >= self.limit:
            log.error("message dead-lettered: its worker died under it", extra={"fields": {
                "actor": message.actor_name, "message_id": message.message_id}})
            message.fail()

    def _first_start(self, table: Table, sk: str) -> _Read:
        """Count the start of a message that has no record yet, an ordinary run, with the
        starts of the others that begin at the same time: one read and one write for all
        (``Combiner``), as the effects' batches are. ``_COUNTED`` then; otherwise whether
        its record was read, and the record (a suspect's, or a copy's counted elsewhere),
        for the caller to go on as before. The shared hold comes first, as an ordinary
        run's count always comes after it."""
        self.lock.acquire(False)
        try:
            read = self._starts((table, sk))
        except BaseException:
            self.lock.release(False)
            raise
        if read != _COUNTED:
            self.lock.release(False)
            return read
        self._counted(table, sk)
        return read

    def _counted(self, table: Table, sk: str) -> None:
        """An ordinary run whose start is counted: the effect's commit clears the count."""
        self._run.set(_Run(False, (table, sk)))
        _delivery.set(_Delivery(table.name, sk))

    def _count_first_starts(self, starts: Sequence[tuple[Table, str]]) -> list[_Read]:
        """A batch of first starts (see ``_first_start``): per table, the records read in
        one request and those absent written in one transaction. A second copy of one
        message in the batch, and every one of them if the write clashes (a copy counted
        meanwhile), are left to read their record again."""
        done: list[_Read] = [(False, None)] * len(starts)
        by_table: dict[str, list[int]] = {}
        for n, (table, _) in enumerate(starts):
            by_table.setdefault(table.name, []).append(n)
        for ns in by_table.values():
            table = starts[ns[0]][0]
            keys = list(dict.fromkeys((APPLIED_PK, starts[n][1]) for n in ns))
            records = dict(zip(keys, table.get_many(keys), strict=True))
            taken = []
            for n in ns:
                key = (APPLIED_PK, starts[n][1])
                if key not in records:
                    continue  # its copy was taken above
                if (record := records.pop(key)) is not None:
                    done[n] = (True, record)
                else:
                    taken.append(n)
            if not taken:
                continue
            try:
                # Not durable, as every count of the guard's (``_count_start``).
                table.transact([Put({"pk": APPLIED_PK, "sk": starts[n][1], "starts": 1,
                                     "version": 1, "dead": None}, must_not_exist=True)
                                for n in taken], durable=False)
            except ConditionFailed:
                continue
            for n in taken:
                done[n] = _COUNTED
        return done

    def _count_start(self, table: Table, sk: str, message_id: str,
                     item: dict[str, Any] | None, again: bool = False,
                     unwritten: bool = False) -> int:
        """Record one more start; how many earlier starts never finished. Once the limit is
        reached the record stays (``dead``): other copies of the same entry (two relays
        may both have sent it) are failed at once instead of each killing workers anew.
        The very message that was dead-lettered, replayed, gets a fresh count. ``item`` is
        the record as last read; a stale one fails the conditional write and is read again
        (a ``dead`` one is read again at once, since it fails a message without a write).
        ``again``: the broker handed this very message out before; the dead-lettered
        message itself coming back so (its rejection was dropped with the channel it was
        delivered on) is still dead, not a replay. ``unwritten``: a redelivery whose first
        run was not written down (a broker that counts deliveries); with no record yet, that
        run is counted."""
        for attempt in range(20):
            if attempt or (item and item.get("dead")):
                item = table.get(APPLIED_PK, sk)
            before = int(item["starts"]) if item else int(unwritten)
            if item and item.get("dead"):
                if item["dead"] != message_id or again:
                    return before
                before = 0
            new = {"pk": APPLIED_PK, "sk": sk, "starts": before + 1,
                   "version": int(item["version"]) + 1 if item else 1,
                   "dead": message_id if before >= self.limit else None}
            try:
                # Not durable: the count is of this worker process's deaths, which a
                # commit survives once made; the server's own crash is not what it
                # counts. The effect's commit (durable) later deletes it.
                table.transact([Put(new, expect_version=int(item["version"]))] if item
                               else [Put(new, must_not_exist=True)], durable=False)
                return before
            except ConditionFailed:
                continue  # a duplicate delivery counted at the same moment
        return 0

    def after_process_message(self, broker: dramatiq.Broker, message: MessageProxy,
                              *, result: Any = None, exception: BaseException | None = None
                              ) -> None:
        run = self._run.get()
        if run is None:
            start = self._prepared.pop(id(message), None)
            if start is None:
                return
            run = _Run(False, start)  # counted with its batch, stopped before its run
        self._run.set(None)
        suspect = run.suspect
        if run.where is None:
            self.lock.release(suspect)
            return
        delivery, _ = _delivery.get(), _delivery.set(None)
        try:
            table, sk = run.where
            done = delivery is not None and delivery.cleared
            if not message.failed and not done:
                # Not durable either: a clear lost with the server is as a clear that
                # could not be made (below), a count left behind that harms nothing.
                table.transact([Delete(APPLIED_PK, sk)], durable=False)
        except Exception:  # the table is out of reach: the count stays, no harm done
            log.warning("could not clear a delivery count", exc_info=True)
        finally:
            self.lock.release(suspect)

    def after_skip_message(self, broker: dramatiq.Broker, message: MessageProxy) -> None:
        self.after_process_message(broker, message)
