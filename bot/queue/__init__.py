"""The durable update queue of a scaled-out bot (with `[redis]`; see docs/scaling.md).

Ingress (webhook replicas, or the one leased poller) appends each raw update to one of P Redis
streams, chosen by its chat; workers take partitions under leases, so each partition, and so
each chat, has one consumer at a time. An entry is acknowledged once its update is handled
(its effects committed); a dead worker's partitions move to another when its lease lapses,
which finishes the turns left unfinished in them and handles their unacknowledged entries
again.
"""
