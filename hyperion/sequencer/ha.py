"""High availability of one sequencer identity: replicas that share it, and etcd to pick the one that sequences.

An operator runs several replicas of one sequencer (same keys, own data
directories) and an etcd cluster (Raft; Debian's ``etcd-server``), the way
op-conductor pairs op-node with Raft:

- **election**: a replica leads while it holds the group's ``leader`` key,
  attached to an etcd lease of ``ttl`` seconds that it keeps alive only while
  its health check passes (its driver loop keeps asking to build, its L1
  answers, and, once it leads, its head keeps up with the clock). A replica
  that dies (kill -9) or fails its health check loses the key within ``ttl``
  (or at once when it resigns) and another one takes it;
- **commit before publish**: only the leader builds, and each block it builds
  is written to etcd by one transaction conditioned on two things: the
  ``leader`` key still holds this replica's lease, and the committed ``head``
  is still the block it built on. Only then does the block go on (batcher,
  proposer, anything else on the driver loop); a refused or failed commit
  rolls the block back (``Leadership.built`` returns False). A stale leader
  (lease expired, another replica elected) therefore cannot add a block, and
  two leaders cannot both extend one height;
- **replication**: the other replicas watch the committed head and apply the
  committed blocks (``blocks/<number>``, the newest ``KEEP_BLOCKS``) through
  block import, and roll back blocks of their own that the group never
  committed (a leader killed between building and committing). A replica
  only campaigns once its head is the committed head, and a new leader
  re-reads the head after winning; it continues from the last block the
  group committed: no gap, no fork.

What this rests on: etcd's linearizable transactions (Raft, a majority of
its members up), the lease TTL as measured by the etcd leader's clock, and
the replicas' local clocks for their own deadline (a replica stops building
``LEASE_MARGIN`` before the end of its lease as it measures it). Safety (one
chain) does not depend on clocks: a commit is refused once the lease is gone,
whatever the old leader believes. What stays trusted: every replica holds
the identity's keys; etcd and whoever can write to it decide who leads and
what the committed chain is (a replica imports committed blocks through full
block import, so a forged block is refused, but a withheld one stalls the
group); L1 still wins over any unsafe block, as for one sequencer.

``Both`` composes gates (an HA group that is one staked identity in a
rotating set builds only when the schedule names it and it leads the group).
"""

from __future__ import annotations

import asyncio
import base64
import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Callable, Optional, Sequence, TypeVar
from urllib.parse import urlsplit

from etcd3gw import exceptions as etcd_errors
from etcd3gw.client import Etcd3Client

from hyperion.chain.blocks import BlockDecodeError, decode_block
from hyperion.chain.errors import ChainError, TxPoolError
from hyperion.rollup.engine import InvalidBlock, RollupChain
from hyperion.rollup.l1client import L1Client, L1RpcError, L1Unavailable

log = logging.getLogger("hyperion.sequencer.ha")

SCHEME = "etcd"
API_PATH = "/v3/"  # etcd's gRPC gateway path from 3.4 on (3.4 also serves the older /v3beta; 3.5 only /v3)
DEFAULT_TTL = 4  # seconds; etcd raises a lease TTL below its own minimum (1.5 election timeouts) to that minimum
LEASE_MARGIN = 1.0  # stop building this long before the lease ends, as this replica measures it
KEEP_BLOCKS = 4096  # committed blocks kept in etcd for replicas that catch up (older ones come from L1)
REQUEST_TIMEOUT = 2.0
MAX_APPLY = 256  # committed blocks applied per round
MAX_REWRITTEN = 64  # blocks replaced by L1 that a leader rewrites in etcd with its next commit (etcd: 128 ops/txn)

T = TypeVar("T")


class HAConfigError(ValueError):
    """An ``--ha`` setting that cannot be used."""


class EtcdUnavailable(Exception):
    """No etcd endpoint answered, or etcd refused a request."""


def parse_etcd_url(url: str) -> tuple[tuple[str, int], ...]:
    """``etcd://host:port[,host:port...]`` -> the endpoints, or HAConfigError saying what is wrong."""
    if not isinstance(url, str) or "://" not in url:
        raise HAConfigError(f"--ha must look like etcd://host:port[,host:port...], got {url!r}")
    scheme, rest = url.split("://", 1)
    if scheme != SCHEME:
        raise HAConfigError(f"--ha: only etcd:// is supported, got {scheme}://")
    endpoints = []
    for part in rest.rstrip("/").split(","):
        try:
            parsed = urlsplit("//" + part.strip())
            host, port = parsed.hostname, parsed.port
        except ValueError:
            host = port = None
        if not host or port is None or parsed.path or parsed.query:
            raise HAConfigError(f"--ha: {part!r} is not host:port (in {url!r})")
        endpoints.append((host, port))
    return tuple(endpoints)


class EtcdCluster:
    """etcd3gw clients for every endpoint: a request goes to the one that answered last, then to the others.

    One request at a time (the clients' HTTP sessions are not shared between threads).
    """

    def __init__(self, endpoints: Sequence[tuple[str, int]], timeout: float = REQUEST_TIMEOUT):
        if not endpoints:
            raise HAConfigError("no etcd endpoint")
        self.endpoints = tuple(endpoints)
        self.clients = [Etcd3Client(host, port, timeout=timeout, api_path=API_PATH) for host, port in endpoints]
        self._current = 0
        self._lock = threading.Lock()

    def call(self, operation: Callable[[Etcd3Client], T]) -> T:
        with self._lock:
            failures = []
            for attempt in range(len(self.clients)):
                index = (self._current + attempt) % len(self.clients)
                try:
                    result = operation(self.clients[index])
                except (etcd_errors.ConnectionFailedError, etcd_errors.ConnectionTimeoutError,
                        etcd_errors.InternalServerError) as exc:
                    host, port = self.endpoints[index]
                    failures.append(f"{host}:{port}: {type(exc).__name__} {str(exc)[:120]}")
                    continue
                except etcd_errors.Etcd3Exception as exc:
                    raise EtcdUnavailable(f"etcd refused the request: {exc.detail_text or exc}") from None
                self._current = index
                return result
            raise EtcdUnavailable("no etcd endpoint answered (" + "; ".join(failures) + ")")


@dataclass(frozen=True)
class Committed:
    """The newest block the group committed (and the etcd revision of that commit)."""

    number: int
    hash: bytes
    revision: int = field(default=0, compare=False)

    def encode(self) -> bytes:
        return f"{self.number}:{self.hash.hex()}".encode()

    @classmethod
    def decode(cls, raw: bytes, revision: int = 0) -> "Committed":
        number, _, block_hash = raw.decode().partition(":")
        return cls(int(number), bytes.fromhex(block_hash), revision)


def _b64(value: bytes) -> str:
    return base64.b64encode(value).decode()


class GroupLog:
    """One HA group's keys in etcd and the rules for changing them.

    ``<prefix>leader``: the leading replica's token (``member@lease``), attached to its lease;
    ``<prefix>leader-rpc``: the leading replica's JSON-RPC URL (where the others forward transactions), same lease;
    ``<prefix>head``: ``number:hash`` of the newest committed block;
    ``<prefix>blocks/<number, 16 hex digits>``: the committed blocks (RLP), the newest ``KEEP_BLOCKS``.
    """

    def __init__(self, etcd: EtcdCluster, group: str):
        if not group or any(c in group for c in "/\0") or len(group) > 128:
            raise HAConfigError(f"--ha-group must be a non-empty name without '/', got {group!r}")
        self.etcd = etcd
        self.prefix = f"/hyperion/ha/{group}/".encode()
        self.leader_key = self.prefix + b"leader"
        self.leader_rpc_key = self.prefix + b"leader-rpc"
        self.head_key = self.prefix + b"head"

    def block_key(self, number: int) -> bytes:
        return self.prefix + b"blocks/" + f"{number:016x}".encode()

    # -- leases and leadership ------------------------------------------------------------------------
    def grant(self, ttl: int) -> tuple[int, int]:
        """A new lease: ``(id, granted TTL)`` (etcd may raise the TTL to its minimum)."""
        reply = self.etcd.call(lambda c: c.post(c.get_url("/lease/grant"), json={"TTL": ttl, "ID": 0}))
        return int(reply["ID"]), int(reply["TTL"])

    def keep_alive(self, lease: int) -> int:
        """Renew ``lease``; its remaining TTL, or -1 when it has already expired."""
        reply = self.etcd.call(lambda c: _unless_lease_gone(c, "/lease/keepalive", lease)) or {}
        return int((reply.get("result") or {}).get("TTL", -1))

    def revoke(self, lease: int) -> None:
        """End ``lease`` (and delete its keys); a lease that already expired is fine."""
        self.etcd.call(lambda c: _unless_lease_gone(c, "/lease/revoke", lease))

    def campaign(self, token: bytes, lease: int, rpc_url: str = "") -> Optional[bytes]:
        """Take the leader key if nobody holds it; returns the holder's token afterwards (ours if we won)."""
        txn = {"compare": [{"key": _b64(self.leader_key), "result": "EQUAL", "target": "CREATE",
                            "create_revision": 0}],
               "success": [{"request_put": {"key": _b64(self.leader_key), "value": _b64(token), "lease": lease}},
                           {"request_put": {"key": _b64(self.leader_rpc_key), "value": _b64(rpc_url.encode()),
                                            "lease": lease}}],
               "failure": [{"request_range": {"key": _b64(self.leader_key)}}]}
        reply = self.etcd.call(lambda c: c.transaction(txn))
        if reply.get("succeeded"):
            return token
        kvs = ((reply.get("responses") or [{}])[0].get("response_range") or {}).get("kvs") or []
        return _value(kvs[0]) if kvs else None

    def leader(self) -> Optional[bytes]:
        values = self.etcd.call(lambda c: c.get(self.leader_key))
        return values[0] if values else None

    def leader_rpc(self) -> Optional[str]:
        values = self.etcd.call(lambda c: c.get(self.leader_rpc_key))
        return values[0].decode() or None if values else None

    def resign(self, token: bytes, lease: int) -> None:
        """Give the leader key up now (if it is still ours) and end the lease."""
        txn = {"compare": [{"key": _b64(self.leader_key), "result": "EQUAL", "target": "VALUE",
                            "value": _b64(token)}],
               "success": [{"request_delete_range": {"key": _b64(self.leader_key)}},
                           {"request_delete_range": {"key": _b64(self.leader_rpc_key)}}], "failure": []}
        self.etcd.call(lambda c: c.transaction(txn))
        self.revoke(lease)

    # -- the committed chain --------------------------------------------------------------------------
    def head(self) -> Optional[Committed]:
        values = self.etcd.call(lambda c: c.get(self.head_key, metadata=True))
        if not values:
            return None
        value, meta = values[0]
        return Committed.decode(value, int(meta.get("mod_revision", 0)))

    def commit(self, token: bytes, expected: Optional[Committed], number: int, block_hash: bytes,
               raw_block: bytes, rewritten: Sequence[tuple[int, bytes]] = ()) -> bool:
        """Write block ``number`` as the new head if ``token`` still leads and the head is still ``expected``
        (None: nothing committed yet); normally ``expected`` is the block's parent. One etcd transaction:
        either all of it holds or nothing is written. ``rewritten``: ``(number, raw block)`` of lower
        blocks that replace committed ones (L1 replaced them); committed blocks above ``number`` are
        deleted with it."""
        head_unchanged = ({"key": _b64(self.head_key), "result": "EQUAL", "target": "CREATE", "create_revision": 0}
                          if expected is None else
                          {"key": _b64(self.head_key), "result": "EQUAL", "target": "VALUE",
                           "value": _b64(expected.encode())})
        success = [{"request_put": {"key": _b64(self.head_key),
                                    "value": _b64(Committed(number, block_hash).encode())}},
                   *({"request_put": {"key": _b64(self.block_key(n)), "value": _b64(raw)}} for n, raw in rewritten),
                   {"request_put": {"key": _b64(self.block_key(number)), "value": _b64(raw_block)}},
                   {"request_delete_range": {"key": _b64(self.block_key(number + 1)),
                                             "range_end": _b64(self.prefix + b"blocks0")}}]  # '0' follows '/'
        if number > KEEP_BLOCKS:
            success.append({"request_delete_range": {"key": _b64(self.block_key(0)),
                                                     "range_end": _b64(self.block_key(number - KEEP_BLOCKS))}})
        txn = {"compare": [{"key": _b64(self.leader_key), "result": "EQUAL", "target": "VALUE", "value": _b64(token)},
                           head_unchanged],
               "success": success, "failure": []}
        return bool(self.etcd.call(lambda c: c.transaction(txn)).get("succeeded"))

    def blocks(self, first: int, last: int) -> dict[int, bytes]:
        """The committed blocks ``first..last`` that etcd still keeps, by number."""
        if last < first:
            return {}
        values = self.etcd.call(lambda c: c.get(self.block_key(first), range_end=self.block_key(last + 1),
                                                metadata=True))
        return {int(meta["key"][len(self.prefix) + len(b"blocks/"):], 16): value for value, meta in values}

    def wait_for_head_change(self, after_revision: int, timeout: float) -> None:
        """Return when the head changes after ``after_revision`` (an etcd watch), or after ``timeout``."""
        def watch(client: Etcd3Client) -> None:
            try:
                client.watch_once(self.head_key, timeout=timeout, start_revision=after_revision + 1)
            except etcd_errors.WatchTimedOut:
                pass

        self.etcd.call(watch)


def _unless_lease_gone(client: Etcd3Client, path: str, lease: int) -> Optional[dict]:
    """POST a lease request; None when etcd no longer knows the lease (it expired or was revoked)."""
    try:
        return client.post(client.get_url(path), json={"ID": lease})
    except etcd_errors.Etcd3Exception as exc:
        if "lease not found" in str(exc.detail_text):
            return None
        raise


def _value(kv: dict) -> bytes:
    return base64.b64decode(kv.get("value", ""))


class Both:
    """A gate that says yes only when every gate does (e.g. the rotation's turn AND HA leader).

    Both methods ask the gates in order and stop at the first no: put a gate that commits the block
    somewhere (HA) last, so that it commits only blocks every other gate accepted.
    """

    def __init__(self, *gates):
        self.gates = gates

    async def may_build(self, number: int, timestamp: int) -> bool:
        for gate in self.gates:
            if not await gate.may_build(number, timestamp):
                return False
        return True

    async def built(self, block) -> bool:
        for gate in self.gates:
            if not await gate.built(block):
                return False
        return True


class EtcdLeadership:
    """The rollup ``Leadership`` of one replica of an HA group, plus its background task (``run``).

    ``may_build``/``built`` run on the node's driver loop; ``run`` runs beside
    them on the same loop: health check, lease keep-alive or campaign, and
    applying the blocks the group committed while this replica does not lead.
    """

    def __init__(self, chain: RollupChain, etcd_url: str, group: str, member: str, *, ttl: int = DEFAULT_TTL,
                 l1_rpc_url: Optional[str] = None, block_time: int = 2, rpc_url: Optional[str] = None):
        if not member or "@" in member or len(member) > 128:
            raise HAConfigError(f"--ha-member must be a non-empty name without '@', got {member!r}")
        if ttl < 1:
            raise HAConfigError(f"--ha-ttl must be at least 1 second, got {ttl}")
        endpoints = parse_etcd_url(etcd_url)
        self.chain = chain
        self.group = group
        self.member = member
        self.ttl = ttl
        self.l1_rpc_url = l1_rpc_url
        self.rpc_url = rpc_url  # ours, advertised while we lead: the others forward transactions to it
        self.log = GroupLog(EtcdCluster(endpoints), group)
        # the watch waits on its own connections, so that a commit never queues behind it
        self.watch_log = GroupLog(EtcdCluster(endpoints), group)
        # stall: how long the driver may stay silent, or the leader's head lag the clock, before it is unhealthy
        self.stall = max(3.0 * block_time, 3.0)
        self.block_time = block_time
        self.lease: Optional[int] = None
        self.granted_ttl = ttl
        self.token = b""
        self.leading_until = 0.0  # monotonic: end of our lease as we measure it (0: we do not lead)
        self.lead_since = 0.0
        self.no_campaign_until = 0.0
        self.committed: Optional[Committed] = None
        self.last_driver_call = 0.0
        self.l1_ok_at = 0.0
        self.head_seen = (-1, 0.0)  # (head number, monotonic time it was first seen)
        self.l1_overrides: Optional[Committed] = None  # a committed head whose chain L1 replaced
        self.behind_reported = False
        self.etcd_down_reported = False
        self.stats = {"elected": 0, "commits": 0, "refused": 0, "applied": 0, "resigned": 0}

    # -- the Leadership gate (driver loop) --------------------------------------------------------------
    def is_leader(self) -> bool:
        return time.monotonic() < self.leading_until - LEASE_MARGIN

    async def may_build(self, number: int, timestamp: int) -> bool:
        self.last_driver_call = time.monotonic()
        if not self.is_leader():
            return False
        head = self.chain.head()
        committed = self.committed
        if committed is None or (head.number == committed.number and head.hash == committed.hash):
            return True
        # L1 replaced committed blocks (derivation filled their slots): build on our safe chain instead, but only
        # above every height the group committed (and may have signed): never a second block at one height
        return (committed == self.l1_overrides and head.number == self.chain.safe_number
                and head.number >= committed.number)

    async def built(self, block) -> bool:
        """Commit ``block`` to etcd before anything else on the driver loop sees it.

        Deliberately synchronous: while the commit is in flight no other role
        (the batcher above all) runs, so an uncommitted block is never posted.
        """
        if not self.is_leader():
            return False
        rewritten = ()
        if self.l1_overrides is not None and self.l1_overrides == self.committed:
            # put our (L1's) blocks where the group's replaced ones were, so the other replicas can apply them
            rewritten = tuple((n, self.chain.block_by_number(n).encode())
                              for n in range(max(1, block.number - MAX_REWRITTEN), block.number))
        try:
            ok = self.log.commit(self.token, self.committed, block.number, block.hash, block.encode(), rewritten)
        except EtcdUnavailable as exc:
            log.warning("HA: cannot commit L2 block %d (%s): not publishing it", block.number, exc)
            ok = False
        if ok:
            self.committed = Committed(block.number, block.hash)
            self.l1_overrides = None
            self.stats["commits"] += 1
            return True
        self.stats["refused"] += 1
        log.warning("HA: etcd refused the commit of L2 block %d (leadership or committed head moved): stepping down",
                    block.number)
        self.leading_until = 0.0
        return False

    # -- the background task ----------------------------------------------------------------------------
    async def run(self) -> None:
        """Until cancelled: health, lease, campaign, replication; never raises on etcd or L1 trouble."""
        l1 = L1Client(self.l1_rpc_url, timeout=REQUEST_TIMEOUT) if self.l1_rpc_url else None
        log.info("HA: replica %s of group %s, etcd %s, lease TTL %ds", self.member, self.group,
                 ",".join(f"{h}:{p}" for h, p in self.log.etcd.endpoints), self.ttl)
        try:
            while True:
                try:
                    await self._round(l1)
                    if self.etcd_down_reported:
                        log.warning("HA: etcd answers again")
                        self.etcd_down_reported = False
                    await self._pause()
                except EtcdUnavailable as exc:
                    if not self.etcd_down_reported:
                        log.error("HA: etcd unreachable, not leading: %s", exc)
                        self.etcd_down_reported = True
                    self.leading_until = 0.0
                    await asyncio.sleep(1.0)
                except Exception:
                    log.exception("HA: round failed")
                    await asyncio.sleep(1.0)
        finally:
            if l1 is not None:
                await l1.close()
            if self.lease is not None:
                try:  # a clean stop hands leadership over at once instead of after the TTL
                    await asyncio.to_thread(self.log.resign, self.token, self.lease)
                except Exception:
                    pass

    async def _pause(self) -> None:
        if self.is_leader():
            await asyncio.sleep(max(self.granted_ttl / 3.0 - 0.2, 0.3))
        else:
            after = self.committed.revision if self.committed is not None else 0
            await asyncio.to_thread(self.watch_log.wait_for_head_change, after, 1.0)

    async def _round(self, l1: Optional[L1Client]) -> None:
        unhealthy = await self.health(l1)
        if self.lease is not None and self.leading_until > 0.0:
            if unhealthy:
                await self._resign(f"health check failed: {unhealthy}")
                return
            started = time.monotonic()
            remaining = await asyncio.to_thread(self.log.keep_alive, self.lease)
            if remaining <= 0:
                log.warning("HA: our lease expired: no longer leading")
                self.leading_until = 0.0
                self.lease = None
                return
            self.leading_until = started + remaining
            head, committed = self.chain.head(), self.committed
            if committed is not None and head.hash != committed.hash and self.l1_overrides is None:
                await self.catch_up()  # derivation replaced blocks under us (L1 wins), or we lag the commit
            return
        self.leading_until = 0.0
        caught_up = await self.catch_up()
        if not unhealthy and caught_up and time.monotonic() >= self.no_campaign_until:
            await self._campaign()
        await self._forward_to_leader()

    async def _forward_to_leader(self) -> None:
        """Send the transactions this replica receives to the leader (while we lead: into our own pool)."""
        url = None if self.leading_until > 0.0 else await asyncio.to_thread(self.log.leader_rpc)
        if url == self.rpc_url:
            url = None  # the key is still ours (a refused commit): never forward to ourselves
        if url != self.chain.forward_url:
            log.info("HA: transactions sent here go to %s", url or "this replica's pool (it leads)")
            self.chain.forward_url = url

    async def health(self, l1: Optional[L1Client]) -> Optional[str]:
        """None when healthy, else why not: driver loop alive, L1 reachable, a leader's head keeping up."""
        now = time.monotonic()
        if now - self.last_driver_call > self.stall:
            return "the driver loop has not asked to build for %.1fs" % (now - self.last_driver_call)
        if l1 is not None:
            try:
                await l1.call("eth_blockNumber")
                self.l1_ok_at = now
            except (L1Unavailable, L1RpcError, OSError, asyncio.TimeoutError) as exc:
                if now - self.l1_ok_at > self.stall:
                    return f"L1 unreachable: {exc}"
        head = self.chain.head()
        if head.number != self.head_seen[0]:
            self.head_seen = (head.number, now)
        if self.leading_until > 0.0 and now - max(self.lead_since, self.head_seen[1]) > self.stall:
            lag = time.time() - head.header.timestamp
            if lag > self.stall + self.block_time:  # behind the clock and not catching up
                return f"the head is {lag:.1f}s behind the clock and has not moved for {now - self.head_seen[1]:.1f}s"
        return None

    async def _campaign(self) -> None:
        if self.lease is not None and await asyncio.to_thread(self.log.keep_alive, self.lease) <= 0:
            self.lease = None  # expired (a stall, or a commit refused after it ended): a new one
        if self.lease is None:
            self.lease, self.granted_ttl = await asyncio.to_thread(self.log.grant, self.ttl)
            self.token = f"{self.member}@{self.lease:x}".encode()
        started = time.monotonic()
        holder = await asyncio.to_thread(self.log.campaign, self.token, self.lease, self.rpc_url or "")
        if holder != self.token:
            return  # the lease stays for the next campaign (renewed then, or replaced if it expired)
        # elected: the previous leader can no longer commit, so the head read now is final
        self.lead_since = started
        self.leading_until = started + self.granted_ttl
        self.stats["elected"] += 1
        caught_up = await self.catch_up()
        log.warning("HA: replica %s leads group %s from committed L2 block %s%s", self.member, self.group,
                    self.committed.number if self.committed else "none (empty group)",
                    "" if caught_up else " (still catching up)")

    async def _resign(self, reason: str) -> None:
        log.warning("HA: replica %s resigns: %s", self.member, reason)
        self.leading_until = 0.0
        self.stats["resigned"] += 1
        lease, self.lease = self.lease, None
        self.no_campaign_until = time.monotonic() + self.granted_ttl  # let another replica take it
        await asyncio.to_thread(self.log.resign, self.token, lease)

    # -- replication ------------------------------------------------------------------------------------
    async def catch_up(self) -> bool:
        """Make our chain the committed chain (apply committed blocks, drop uncommitted ones of ours).

        Returns whether our head is now the committed head.
        """
        committed = await asyncio.to_thread(self.log.head)
        self.committed = committed
        if committed is None:
            return True
        chain = self.chain
        for _ in range(8):
            head = chain.head()
            if head.number == committed.number and head.hash == committed.hash:
                self.behind_reported = False
                return True
            if head.number >= committed.number:
                ours = chain.block_by_number(committed.number)
                if head.number > committed.number and ours is not None and ours.hash == committed.hash:
                    self._roll_back(committed.number, "above the committed head")
                    continue
                if committed.number <= chain.safe_number:
                    return self._l1_wins(committed, committed.number)
                outcome = await self._roll_back_to_common(min(head.number, committed.number))
                if outcome != "rolled back":
                    return outcome == "L1 wins"
                continue
            wanted = await asyncio.to_thread(self.log.blocks, head.number + 1,
                                             min(committed.number, head.number + MAX_APPLY))
            first = wanted.get(head.number + 1)
            if first is None:
                if not self.behind_reported:
                    log.warning("HA: committed L2 block %d is no longer kept in etcd: waiting for L1 derivation to "
                                "bring this replica up to it", head.number + 1)
                    self.behind_reported = True
                return False
            if _decoded(first).header.parent_hash != head.hash:
                outcome = await self._roll_back_to_common(head.number)
                if outcome != "rolled back":
                    return outcome == "L1 wins"
                continue
            if not await self._apply(wanted, head.number + 1):
                return False
        return False

    async def _apply(self, raw_blocks: dict[int, bytes], first: int) -> bool:
        chain = self.chain
        number = first
        while number in raw_blocks:
            block = _decoded(raw_blocks[number])
            with chain.lock:
                if chain.head().number != number - 1:
                    return True  # derivation moved the head meanwhile: look again
                try:
                    chain.import_block(block)
                except InvalidBlock as exc:
                    log.error("HA: block import refuses committed L2 block %d: %s", number, exc)
                    return False
            self.stats["applied"] += 1
            number += 1
            await asyncio.sleep(0)
        return True

    async def _roll_back_to_common(self, start: int) -> str:
        """Roll back to the newest block of ours that the group committed too (not below safe).

        Returns "rolled back", "L1 wins" (our safe chain replaced the committed one) or "stuck".
        """
        chain = self.chain
        low = max(chain.safe_number, start - 64)
        committed = await asyncio.to_thread(self.log.blocks, low, start)
        for number in range(start, low - 1, -1):
            ours = chain.block_by_number(number)
            raw = committed.get(number)
            if ours is not None and (number == 0 or raw is not None and _decoded(raw).hash == ours.hash):
                self._roll_back(number, "not committed by the group")  # (genesis is every replica's)
                return "rolled back"
        if low > chain.safe_number:
            self._roll_back(low, "not committed by the group")  # the common block is further down: next round
            return "rolled back"
        if chain.safe_number in committed and self.committed is not None:
            return "L1 wins" if self._l1_wins(self.committed, chain.safe_number) else "stuck"
        log.error("HA: this replica's chain and the group's committed blocks differ down to the safe block %d, "
                  "which etcd no longer keeps: leaving it to L1 derivation", chain.safe_number)
        return "stuck"

    def _l1_wins(self, committed: Committed, number: int) -> bool:
        """Our safe block ``number`` (derived from L1) is not the group's: L1 replaced the committed chain
        there. The group continues from our safe chain (we are caught up; a leader builds on it)."""
        if self.l1_overrides != committed:
            log.warning("HA: L1 replaced the group's committed L2 block %d (derivation): continuing from this "
                        "replica's safe block %d instead of the committed head %d", number,
                        self.chain.safe_number, committed.number)
        if self.chain.head().number > self.chain.safe_number:
            self._roll_back(self.chain.safe_number, "L1 replaced the committed chain")
        self.l1_overrides = committed
        return True

    def _roll_back(self, number: int, why: str) -> None:
        chain = self.chain
        log.warning("HA: dropping this replica's L2 blocks %d..%d (%s)", number + 1, chain.head().number, why)
        try:
            dropped = chain.rollback_to(number)
        except ChainError as exc:
            log.error("HA: cannot roll back to %d: %s", number, exc)
            return
        for tx in dropped:
            try:
                chain.submit_transaction(tx)
            except TxPoolError:
                pass

    def status(self) -> dict:
        return {"member": self.member, "group": self.group, "leading": self.is_leader(),
                "committed": self.committed.number if self.committed else None,
                "forward_to": self.chain.forward_url, **self.stats}


def _decoded(raw: bytes):
    try:
        return decode_block(raw)
    except (BlockDecodeError, ValueError) as exc:
        raise EtcdUnavailable(f"etcd holds a malformed committed block: {exc}") from None
