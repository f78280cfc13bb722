"""Merge flags from the Space (users' corrected labels) into the training split.

``python -m training --corrections X`` reads flag records from X (see ``training.corrections.records``: a flag
folder, a ``.jsonl`` or a ``.csv`` — an export, a hand-made file, or a review sheet) and applies them to
the training split only, by these rules:

1. Only a flag whose answer is a class of the dataset is used (for multi-label data: a set of its classes,
   possibly empty — ``training.corrections.votes`` says where a record gives it); any other flag, and a flag with
   empty text, is rejected with its reason. A flag id seen twice (the same file read from
   a local store and from a pulled copy, say) counts once. A review-sheet row not marked accepted is
   rejected ("not accepted in review"), and a ``training.ask`` sheet's row left blank is skipped ("blank").
2. Flags are matched to texts on a key: Unicode NFC, whitespace stripped and collapsed to single
   spaces, and case-folded. Case-folded because the same tweet pasted with its original capitals
   must find its lower-cased copy in dair-ai/emotion (whose texts are all lower case), and the
   emotion of a text does not depend on its capitals; an uncased backbone (the default) sees no
   difference anyway.
3. One vote per client per text: of several flags from one ``client`` on one text only the latest
   counts (``time``, then file order); the others are rejected ("superseded"). A record without
   ``client`` (written before the Space stored it) is one anonymous client of its own.
4. A client adds at most ``max_new_per_client`` new texts (its earliest votes on texts that are not
   in training); its votes on further new texts are rejected. The owner (hand-made records and
   accepted review rows) has no cap. A run adds at most ``max_new_anonymous`` new texts that only
   anonymous clients chose (no signed-in client, not the owner), those first flagged first: made-up
   anonymous pairs would otherwise add any number; the winning votes of the others are rejected
   ("over_anonymous_cap") and counted in the summary.
5. Votes on one text are resolved by majority of clients; a tie goes to the label with the latest
   vote. For multi-label data a vote is the whole set, so clients agree when they chose the same set.
   The losing flags are rejected ("outvoted"/"tie"). The winning label is applied only when at least
   ``min_votes`` distinct clients chose it; otherwise every flag on the text is rejected. The
   dataset's own label is not a vote: a flag is a correction of it. An owner's record decides its
   text outright (their latest, if several), whatever the votes: that is what review is for.
   Changing the label of a text already in training needs ``min_votes`` *signed-in* clients
   (``hf:<user>``): anonymous ids are cheap (one script, one IPv6 /64 gives endless addresses), so
   anonymous votes on a training text are rejected ("anonymous"), and where ``min_votes`` of them
   agree the summary lists the label as a ``proposal`` for the owner to accept in the review sheet.
   ``trust_anonymous_votes`` counts them as before. New texts keep the rules above for every client.
6. A text that is in the training split gets the winning label (every row with that text).
7. A new text is added to the training split — never to validation or test, so that runs before
   and after corrections are evaluated on the same data. A new text that is in validation or test
   (``held_out_texts``) is rejected: adding it to training would leak evaluation data. A text
   that is already in training *and* in test (dair-ai/emotion has such duplicates) is still
   relabelled: training already holds it, so no new leak is made, and test stays untouched.

The summary (saved by the CLI as ``corrections.json``; its keys in docs/corrections.md) counts what was
read, used, relabelled, added and rejected (each rejection with its reason), per client, the labels that came
from a ``training.ask`` queue, how much the clients agree (``training.corrections.agreement``, over the votes
that count: :func:`counted`), and lists the anonymous ``proposals`` and burst ``warnings``; ``flags_read == used
+ rejected``.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timezone

from formats.flag_record import text_key
from training.corrections.agreement import agreement_summary
from training.corrections.bursts import burst_warnings
from training.corrections.records import OWNER, QUEUE, parse_time
from training.corrections.votes import NotAVote, Vote, prediction_of, record_vote, shown

# Two, so that no single client can change a training label or add a text on its own: a second person must
# agree. More would leave a quiet Space's flags unused; the owner's review covers texts one person flagged.
DEFAULT_MIN_VOTES = 2
# An honest visitor flags a handful of new tweets per training round; a flood from one client is cut here.
DEFAULT_MAX_NEW_PER_CLIENT = 20
# New texts that only anonymous clients back, per run: a quiet Space's honest visitors rarely agree on more than a
# few new tweets between two trainings, and made-up anonymous pairs (one script) can add any number otherwise.
DEFAULT_MAX_NEW_ANONYMOUS = 10
SIGNED_IN_PREFIX = "hf:"  # the Space's client id of a visitor signed in with Hugging Face
HELD_OUT_REASON = "text is in the test/validation split (adding it to training would leak evaluation data)"
EARLIEST = datetime.min.replace(tzinfo=timezone.utc)  # the time of a hand-made record without one


def client_of(record: dict) -> str:
    """Who sent ``record``: its ``client``, or an anonymous client of its own (rule 3)."""
    return record.get("client") or f"anonymous:{record['id']}"


def signed_in(record: dict) -> bool:
    """Whether ``record`` comes from a visitor signed in with Hugging Face (rule 5)."""
    return client_of(record).startswith(SIGNED_IN_PREFIX)


def counted(record: dict, trust_anonymous_votes: bool) -> bool:
    """Whether ``record``'s vote counts as a person's (rule 5): the owner's, a signed-in client's, or any with
    ``trust_anonymous_votes``. Agreement is measured on these votes only, so that made-up clients cannot raise it."""
    return trust_anonymous_votes or signed_in(record) or client_of(record) == OWNER


class _Merge:
    """The bookkeeping of one merge: rejections with reasons, and the order of the records."""

    def __init__(self, records: list[dict]) -> None:
        self.order = {id(record): n for n, record in enumerate(records)}
        self.votes: dict[int, Vote] = {}  # each usable record's vote (rule 1)
        self.rejections: list[dict] = []
        self.proposals: list[dict] = []  # anonymous agreement on a training text, for the owner's review

    def vote(self, record: dict) -> Vote:
        return self.votes[id(record)]

    def reject(self, record: dict, code: str, reason: str) -> None:
        self.rejections.append(
            {"id": record["id"], "client": client_of(record), "text": record["text"], "reason": reason, "code": code}
        )

    def moment(self, record: dict) -> tuple[datetime, int]:
        """When ``record`` was made, for "latest": its time, then its place in the input (rule 3)."""
        return (parse_time(record["time"]) if record["time"] else EARLIEST, self.order[id(record)])


def merge_corrections(
    texts: list[str],
    labels: list[str],
    records: list[dict],
    label_names: list[str],
    held_out_texts=(),
    *,
    min_votes: int = DEFAULT_MIN_VOTES,
    max_new_per_client: int | None = DEFAULT_MAX_NEW_PER_CLIENT,
    trust_anonymous_votes: bool = False,
    multi_label: bool = False,
    max_new_anonymous: int | None = DEFAULT_MAX_NEW_ANONYMOUS,
) -> tuple[list[str], list[Vote], dict]:
    """Apply flag records to a training split given as plain lists (the rules of this module).

    Args:
        texts: training texts.
        labels: their label names, same length (multi-label: tuples of names, in ``label_names`` order).
        records: flag records (``training.corrections.records``), in reading order.
        label_names: the classes of the dataset.
        held_out_texts: validation and test texts; a new text among them is not added.
        min_votes: distinct clients that must agree before a label is applied (rule 5).
        max_new_per_client: new texts one client may add (rule 4); None: no cap.
        trust_anonymous_votes: let anonymous clients' votes change the label of a training text (rule 5).
        multi_label: the data is multi-label: each answer is a set of labels (``training.corrections.votes``).
        max_new_anonymous: new texts that only anonymous clients back, added in this run (rule 4); None: no cap.

    Returns:
        ``(new_texts, new_labels, summary)``: the training rows in their order with labels
        corrected, then the added texts; and the summary counts (without ``source``).
    """
    merge = _Merge(records)
    keys = [text_key(t) for t in texts]
    train_keys = set(keys)
    current = dict(zip(keys, labels, strict=True))  # a training text's label (the last copy's, if duplicated)
    held_out_keys = {text_key(t) for t in held_out_texts}
    distinct, duplicates = _distinct(records)
    groups = _valid_by_text(distinct, label_names, multi_label, merge)
    for key in [k for k in groups if k not in train_keys and k in held_out_keys]:
        for record in groups.pop(key):
            merge.reject(record, "held_out", HELD_OUT_REASON)
    groups = {key: _latest_per_client(flags, merge) for key, flags in groups.items()}
    agreement = _agreement(groups, label_names, multi_label, merge, trust_anonymous_votes)
    _cap_new_texts(groups, train_keys, max_new_per_client, merge)

    winners: dict[str, Vote] = {}
    additions: list[tuple[Vote, list[dict]]] = []  # each new text's winning vote and the flags that chose it
    used = conflicts = 0
    for key, flags in groups.items():
        if key in train_keys and not trust_anonymous_votes:
            flags = _signed_in_votes(flags, min_votes, merge, current[key])
        winner, n_used, conflict = _resolve(flags, min_votes, merge)
        used, conflicts = used + n_used, conflicts + conflict
        if winner is None:
            continue
        if key in train_keys:
            winners[key] = winner
        else:
            additions.append((winner, [record for record in flags if merge.vote(record) == winner]))
    additions, capped = _cap_anonymous_additions(additions, max_new_anonymous, merge)
    used -= sum(len(backers) for _, backers in capped)
    # The latest flag's wording (whitespace normalised) is the text added.
    added_texts = [" ".join(max(backers, key=merge.moment)["text"].split()) for _, backers in additions]
    added_labels = [winner for winner, _ in additions]

    new_labels = [winners.get(key, label) for key, label in zip(keys, labels, strict=True)]
    relabelled = sum(old != new for old, new in zip(labels, new_labels, strict=True))
    summary = {
        "flags_read": len(distinct),
        "used": used,
        "relabelled": relabelled,
        "unchanged": sum(key in winners for key in keys) - relabelled,
        "added": len(added_texts),
        "rejected": len(merge.rejections),
        "rejections": merge.rejections,
        "dropped": dict(Counter(r["code"] for r in merge.rejections).most_common()),
        "clients": _per_client(distinct, merge.rejections),
        "conflicts_resolved": conflicts,
        "duplicates": duplicates,
        "without_id": sum(r["id"].startswith("hand-") for r in distinct),
        "without_time": sum(r["time"] is None for r in distinct),
        "agreement": agreement,
        "from_queue": _from_queue(distinct, merge.rejections),
        "proposals": merge.proposals,
        "warnings": burst_warnings(
            [(text_key(r["text"]), client_of(r), parse_time(r["time"]) if r["time"] else None) for r in distinct]
        ),
        "anonymous_new_capped": len(capped),
        "min_votes": min_votes,
        "max_new_per_client": max_new_per_client,
        "max_new_anonymous": max_new_anonymous,
        "trust_anonymous_votes": trust_anonymous_votes,
    }
    return list(texts) + added_texts, new_labels + added_labels, summary


def _distinct(records: list[dict]) -> tuple[list[dict], int]:
    """Each id once (the first read, unless a later copy is accepted in review and the first is not: the
    owner's ``y`` wins), and how many repeats were dropped."""
    kept: dict[str, int] = {}
    distinct: list[dict] = []
    for record in records:
        at = kept.get(record["id"])
        if at is None:
            kept[record["id"]] = len(distinct)
            distinct.append(record)
        elif record.get("accept") is True and distinct[at].get("accept") is False:
            distinct[at] = record
    return distinct, len(records) - len(distinct)


def _valid_by_text(
    records: list[dict], label_names: list[str], multi_label: bool, merge: _Merge
) -> dict[str, list[dict]]:
    """Rule 1: reject what cannot be used; group the rest by text key, each with its vote."""
    groups: dict[str, list[dict]] = {}
    for record in records:
        key = text_key(record["text"])
        if record.get("accept") is False:
            merge.reject(record, "not_accepted", "not accepted in review")
            continue
        if not key:
            merge.reject(record, "empty_text", "empty text")
            continue
        try:
            merge.votes[id(record)] = record_vote(record, label_names, multi_label)
        except NotAVote as refusal:
            if refusal.code == "no_label" and record.get("origin") == QUEUE:
                merge.reject(record, "blank", "left blank in the training.ask sheet (skipped)")
            else:
                merge.reject(record, refusal.code, refusal.reason)
            continue
        groups.setdefault(key, []).append(record)
    return groups


def _agreement(
    groups: dict[str, list[dict]], label_names: list[str], multi_label: bool, merge: _Merge, trust: bool
) -> dict:
    """The clients' agreement on the texts (each client's latest vote), and with the model's predictions, over the
    votes that count (:func:`counted`); the others are only counted, as ``left_out`` (a key only when some were)."""
    kept = {key: [record for record in flags if counted(record, trust)] for key, flags in groups.items()}
    units = [[merge.vote(record) for record in flags] for flags in kept.values()]
    predictions = [(merge.vote(r), prediction_of(r, label_names, multi_label)) for f in kept.values() for r in f]
    left_out = sum(len(flags) for flags in groups.values()) - sum(len(flags) for flags in kept.values())
    with_model = [vote == predicted for vote, predicted in predictions if predicted is not None]
    return {**agreement_summary(units, with_model), **({"left_out": left_out} if left_out else {})}


def _from_queue(records: list[dict], rejections: list[dict]) -> dict:
    """The rows of ``training.ask`` sheets: read, left blank, and used (as the owner's answers)."""
    rows = [record for record in records if record.get("origin") == QUEUE]
    rejected = Counter(item["code"] for item in rejections if item["id"] in {record["id"] for record in rows})
    return {"rows": len(rows), "blank": rejected["blank"], "used": len(rows) - sum(rejected.values())}


def _latest_per_client(flags: list[dict], merge: _Merge) -> list[dict]:
    """Rule 3: each client's latest flag on one text; the earlier ones are rejected."""
    latest: dict[str, dict] = {}
    for record in sorted(flags, key=merge.moment):
        client = client_of(record)
        if client in latest:
            merge.reject(latest[client], "superseded", "superseded: the same client flagged this text again later")
        latest[client] = record
    return list(latest.values())


def _cap_new_texts(groups: dict[str, list[dict]], train_keys: set[str], cap: int | None, merge: _Merge) -> None:
    """Rule 4: drop each client's votes on new texts beyond its first ``cap`` (in time order)."""
    if cap is None:
        return
    votes = sorted(
        ((record, key) for key, flags in groups.items() if key not in train_keys for record in flags),
        key=lambda vote: merge.moment(vote[0]),
    )
    counts: Counter = Counter()
    for record, key in votes:
        client = client_of(record)
        if client == OWNER:
            continue
        counts[client] += 1
        if counts[client] > cap:
            groups[key].remove(record)
            merge.reject(record, "over_new_cap", f"this client already added {cap} new texts (--max-new-per-client)")
    for key in [k for k, flags in groups.items() if not flags]:
        del groups[key]


def _cap_anonymous_additions(
    additions: list[tuple[Vote, list[dict]]], cap: int | None, merge: _Merge
) -> tuple[list[tuple[Vote, list[dict]]], list[tuple[Vote, list[dict]]]]:
    """Rule 4: of the new texts that only anonymous clients chose (no signed-in client, not the owner), the first
    ``cap`` by their earliest winning flag are added; the others are rejected. Returns ``(kept, capped)``."""
    anonymous = [n for n, (_, backers) in enumerate(additions) if not any(counted(r, False) for r in backers)]
    if cap is None or len(anonymous) <= cap:
        return additions, []
    anonymous.sort(key=lambda n: min(merge.moment(record) for record in additions[n][1]))
    dropped = set(anonymous[cap:])
    for n in sorted(dropped):
        for record in additions[n][1]:
            merge.reject(
                record,
                "over_anonymous_cap",
                f"{cap} new texts that only anonymous clients chose were added already (--max-new-anonymous); "
                "accept it in the review sheet to add it",
            )
    kept = [addition for n, addition in enumerate(additions) if n not in dropped]
    return kept, [additions[n] for n in sorted(dropped)]


def _signed_in_votes(flags: list[dict], min_votes: int, merge: _Merge, current: Vote) -> list[dict]:
    """Rule 5 on a training text: the owner's and signed-in clients' votes; anonymous ones are rejected, and their
    agreement (``min_votes`` on one label) becomes a proposal for the owner's review."""
    if any(client_of(record) == OWNER for record in flags):
        return flags  # the owner decides the text whoever else voted
    anonymous = [record for record in flags if not signed_in(record)]
    votes = Counter(merge.vote(record) for record in anonymous)
    for vote, count in votes.items():
        if count >= min_votes and vote != current:
            label = vote if isinstance(vote, str) else list(vote)
            merge.proposals.append({"text": anonymous[0]["text"], "label": label, "clients": count})
    for record in anonymous:
        merge.reject(
            record,
            "anonymous",
            "an anonymous client cannot change a training label: it needs signed-in clients, or the owner's "
            "acceptance in the review sheet (python -m space.flags review)",
        )
    return [record for record in flags if signed_in(record)]


def _resolve(flags: list[dict], min_votes: int, merge: _Merge) -> tuple[Vote | None, int, int]:
    """Rule 5 on one text's votes (one per client): ``(winning label or None, votes used, 1 if they disagreed)``."""
    if not flags:
        return None, 0, 0
    owner = [record for record in flags if client_of(record) == OWNER]
    if owner:
        for record in flags:
            if record is not owner[-1]:
                merge.reject(record, "owner_decided", f"the owner's correction says {shown(merge.vote(owner[-1]))}")
        return merge.vote(owner[-1]), 1, 0
    votes = Counter(merge.vote(record) for record in flags)
    latest: dict[Vote, tuple[datetime, int]] = {}
    for record in flags:
        label = merge.vote(record)
        latest[label] = max(latest.get(label, (EARLIEST, -1)), merge.moment(record))
    winner = max(votes, key=lambda label: (votes[label], latest[label]))
    if votes[winner] < min_votes:
        for record in flags:
            merge.reject(
                record,
                "below_min_votes",
                f"{votes[winner]} client(s) agree on {shown(winner)}; --min-votes {min_votes} needed",
            )
        return None, 0, 0
    for record in flags:
        label = merge.vote(record)
        if label == winner:
            continue
        if votes[label] == votes[winner]:
            merge.reject(
                record,
                "tie",
                f"tie: {votes[winner]} of {len(flags)} clients each; the latest vote says {shown(winner)}",
            )
        else:
            merge.reject(record, "outvoted", f"outvoted: {votes[winner]} of {len(flags)} clients say {shown(winner)}")
    return winner, votes[winner], int(len(votes) > 1)


def _per_client(records: list[dict], rejections: list[dict]) -> dict[str, dict[str, int]]:
    """Flags read, used and rejected per client, the busiest first."""
    read = Counter(client_of(record) for record in records)
    rejected = Counter(item["client"] for item in rejections)
    return {
        client: {"flags": n, "used": n - rejected[client], "rejected": rejected[client]}
        for client, n in read.most_common()
    }
