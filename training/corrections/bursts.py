"""Warnings about bursts of flags: many clients on one text, or many new clients within minutes.

A burst is worth a warning, not a rule: a popular Space sees many honest visitors too, and a flood of
made-up anonymous clients is already kept from changing training labels (``training.corrections.merge``, rule 5).
The warnings go into the corrections summary (``corrections.json``) and the run's output.
"""

from __future__ import annotations

from datetime import datetime, timedelta

BURST_CLIENTS_PER_TEXT = 20  # distinct clients on one text
BURST_NEW_CLIENTS, BURST_MINUTES = 50, 10  # this many clients first seen within this many minutes


def burst_warnings(flags: list[tuple[str, str, datetime | None]]) -> list[str]:
    """One line per burst in ``flags``, given as ``(text key, client, time or None)``."""
    return [*crowded_texts(flags), *new_client_bursts(flags)]


def crowded_texts(flags: list[tuple[str, str, datetime | None]]) -> list[str]:
    """Texts flagged by at least ``BURST_CLIENTS_PER_TEXT`` distinct clients."""
    clients: dict[str, set[str]] = {}
    for key, client, _ in flags:
        clients.setdefault(key, set()).add(client)
    return [
        f"{len(who)} clients flagged one text ({key[:60]!r}): check that they are real people"
        for key, who in clients.items()
        if len(who) >= BURST_CLIENTS_PER_TEXT
    ]


def new_client_bursts(flags: list[tuple[str, str, datetime | None]]) -> list[str]:
    """The first window of ``BURST_MINUTES`` in which at least ``BURST_NEW_CLIENTS`` clients flagged for the
    first time (records without a time cannot be placed and are left out)."""
    first_seen: dict[str, datetime] = {}
    for _, client, moment in flags:
        if moment is not None and (client not in first_seen or moment < first_seen[client]):
            first_seen[client] = moment
    times = sorted(first_seen.values())
    window, start = timedelta(minutes=BURST_MINUTES), 0
    for end, moment in enumerate(times):
        while moment - times[start] > window:
            start += 1
        if end - start + 1 >= BURST_NEW_CLIENTS:
            return [
                f"{BURST_NEW_CLIENTS} or more new clients within {BURST_MINUTES} minutes from "
                f"{times[start]:%Y-%m-%d %H:%M} UTC: check that they are real people"
            ]
    return []
