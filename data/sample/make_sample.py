"""Write the synthetic sample dataset of this folder (train/validation/test .txt, ``text;label`` lines).

    python data/sample/make_sample.py

Every text is composed from the hand-written word lists below (templates x emotion words x everyday
contexts), with a fixed seed, so the files are reproducible. No line comes from a real dataset.
"""

from __future__ import annotations

import random
from pathlib import Path

SEED = 1234
# Examples per class: a mild imbalance, as in real tweet emotion data (joy and sadness most common).
PER_CLASS = {"sadness": 115, "joy": 130, "love": 80, "anger": 95, "fear": 90, "surprise": 70}
SPLITS = {"train": 0.8, "validation": 0.1, "test": 0.1}

WORDS = {
    "sadness": [
        "sad",
        "lonely",
        "heartbroken",
        "miserable",
        "gloomy",
        "hopeless",
        "down",
        "empty",
        "defeated",
        "homesick",
        "crushed",
        "melancholy",
        "discouraged",
        "unhappy",
        "blue",
        "devastated",
    ],
    "joy": [
        "happy",
        "cheerful",
        "glad",
        "delighted",
        "excited",
        "proud",
        "grateful",
        "content",
        "relaxed",
        "joyful",
        "thrilled",
        "optimistic",
        "satisfied",
        "energetic",
        "peaceful",
        "awesome",
    ],
    "love": [
        "loved",
        "affectionate",
        "tender",
        "romantic",
        "adored",
        "caring",
        "passionate",
        "devoted",
        "fond of you",
        "loving",
        "sweet",
        "longing for you",
        "smitten",
        "cherished",
        "warm hearted",
    ],
    "anger": [
        "angry",
        "furious",
        "annoyed",
        "irritated",
        "outraged",
        "resentful",
        "bitter",
        "mad",
        "fed up",
        "frustrated",
        "offended",
        "hostile",
        "grumpy",
        "livid",
        "disgusted",
        "insulted",
    ],
    "fear": [
        "scared",
        "afraid",
        "nervous",
        "anxious",
        "terrified",
        "worried",
        "uneasy",
        "panicked",
        "shaky",
        "frightened",
        "insecure",
        "tense",
        "paranoid",
        "restless",
        "alarmed",
        "helpless",
    ],
    "surprise": [
        "surprised",
        "amazed",
        "shocked",
        "astonished",
        "stunned",
        "curious",
        "speechless",
        "dazed",
        "startled",
        "impressed",
        "overwhelmed",
        "bewildered",
        "blown away",
        "caught off guard",
    ],
}
CONTEXTS = [
    "after work today",
    "this morning",
    "since last night",
    "about the new job",
    "when i got home",
    "reading the news",
    "after talking to my sister",
    "about this weekend",
    "at the gym",
    "on the bus",
    "about my exam results",
    "after the meeting",
    "watching the game",
    "when the phone rang",
    "about moving to a new city",
    "at my friends wedding",
    "after the long drive",
    "about my old house",
    "when i opened the letter",
    "during dinner with my parents",
    "about the whole situation",
    "on my first day back",
    "looking at old photos",
    "about the trip next month",
    "after the doctor called",
]
TEMPLATES = [
    "i feel {w} {c}",
    "im feeling so {w} {c}",
    "i am {w} {c} and i dont know why",
    "honestly i feel really {w} {c}",
    "i keep feeling {w} {c}",
    "{c} i felt {w}",
    "i feel a bit {w} {c} lol",
    "cant stop feeling {w} {c}",
    "i have been feeling {w} {c}",
    "still feeling {w} {c} to be honest",
    "i feel so {w} right now",
    "i just feel {w} {c}",
]


def make_rows(rng: random.Random) -> list[tuple[str, str]]:
    """Distinct (text, label) pairs, ``PER_CLASS[label]`` of each."""
    rows, seen = [], set()
    for label, count in PER_CLASS.items():
        made = 0
        while made < count:
            text = rng.choice(TEMPLATES).format(w=rng.choice(WORDS[label]), c=rng.choice(CONTEXTS))
            if text not in seen:
                seen.add(text)
                rows.append((text, label))
                made += 1
    rng.shuffle(rows)
    return rows


def main() -> None:
    rng = random.Random(SEED)
    rows = make_rows(rng)
    folder = Path(__file__).resolve().parent
    start = 0
    for i, (name, fraction) in enumerate(SPLITS.items()):
        end = len(rows) if i == len(SPLITS) - 1 else start + round(fraction * len(rows))
        (folder / f"{name}.txt").write_text("".join(f"{t};{lab}\n" for t, lab in rows[start:end]), encoding="utf-8")
        print(f"{name}.txt: {end - start} lines")
        start = end


if __name__ == "__main__":
    main()
