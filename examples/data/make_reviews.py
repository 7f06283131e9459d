"""Writes the demo's movie-review sample: imdb_sample/{train,validation,test}.csv.

Short reviews composed from hand-written openings, observations and verdicts, balanced
between positive and negative. A third of them contrast a weak point with a strong one
(or the reverse) so the label depends on the verdict, not on any single word.

Run from the repository root: ``python examples/data/make_reviews.py`` (seeded; the
committed CSVs are its output).
"""

from __future__ import annotations

import csv
import os
import random

TITLES = ["this film", "the movie", "this picture", "the sequel", "this thriller", "the remake",
          "this comedy", "the drama", "this western", "the documentary", "this romance", "the adaptation"]
GOOD = [
    "the performances are warm and completely convincing",
    "the script is sharp, funny and surprisingly moving",
    "every scene is beautifully shot",
    "the lead actress gives the best performance of her career",
    "the pacing never lets up and the finale is thrilling",
    "the dialogue sparkles and the jokes actually land",
    "the soundtrack lifts every moment",
    "the story is clever and full of heart",
    "the characters feel like real people you care about",
    "the direction is confident and inventive",
    "it is gripping from the first minute to the last",
    "the ending left me smiling for days",
]
BAD = [
    "the performances are wooden and unconvincing",
    "the script is lazy and full of clichés",
    "the camera work is muddy and hard to follow",
    "the lead actor sleepwalks through every scene",
    "the pacing is glacial and the finale falls flat",
    "the jokes are stale and nobody laughs",
    "the music is loud and grating",
    "the plot makes no sense at all",
    "the characters are thin and impossible to care about",
    "the direction is clumsy and confused",
    "it is a chore to sit through",
    "the ending is an insult to the audience",
]
MILD_GOOD = ["the opening is a little slow", "a few jokes miss", "the runtime is a bit long",
             "the villain is underwritten", "the effects look cheap at times"]
MILD_BAD = ["the costumes are lovely", "one song is catchy", "the first ten minutes are promising",
            "the poster is nice", "the supporting cast tries hard"]
VERDICT_GOOD = ["I loved it.", "Highly recommended.", "A wonderful evening at the cinema.",
                "One of the best films of the year.", "I would happily watch it again.",
                "Go and see it.", "An absolute delight.", "Ten out of ten."]
VERDICT_BAD = ["I hated it.", "Avoid it.", "A complete waste of two hours.",
               "One of the worst films of the year.", "I walked out halfway through.",
               "Save your money.", "A dreadful experience.", "Two out of ten, and that is generous."]
OPENERS = ["I saw {t} last night.", "We watched {t} at the weekend.", "My friends dragged me to {t}.",
           "I had high hopes for {t}.", "I went into {t} knowing nothing.", "Finally caught {t} on TV.",
           "{T} opened this week.", "Everyone has been talking about {t}."]


def review(rng: random.Random, positive: bool) -> str:
    """One review with the given sentiment."""
    title = rng.choice(TITLES)
    opener = rng.choice(OPENERS).format(t=title, T=title[0].upper() + title[1:])
    strong, verdicts = (GOOD, VERDICT_GOOD) if positive else (BAD, VERDICT_BAD)
    points = rng.sample(strong, rng.choice([1, 2]))
    body = " and ".join(points)
    if rng.random() < 0.35:  # a contrast: the weak point comes first, the verdict decides
        concession = rng.choice(MILD_GOOD if positive else MILD_BAD)
        body = f"Sure, {concession}, but {body}"
    else:
        body = body[0].upper() + body[1:]
    return f"{opener} {body}. {rng.choice(verdicts)}"


def write(path: str, rows: list[tuple[str, str]]) -> None:
    """Writes ``(text, label)`` rows as CSV."""
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["text", "label"])
        writer.writerows(rows)


def main() -> None:
    """Generates 400 train, 100 validation and 150 test reviews, half positive each."""
    rng = random.Random(20261125)
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "imdb_sample")
    os.makedirs(out, exist_ok=True)
    seen: set[str] = set()
    for split, n in (("train", 400), ("validation", 100), ("test", 150)):
        rows: list[tuple[str, str]] = []
        while len(rows) < n:
            positive = len(rows) % 2 == 0
            text = review(rng, positive)
            if text not in seen:  # no review appears in two splits
                seen.add(text)
                rows.append((text, "positive" if positive else "negative"))
        rng.shuffle(rows)
        write(os.path.join(out, f"{split}.csv"), rows)


if __name__ == "__main__":
    main()
