"""Writes the multi-label demo's tweet sample: emotions_sample/{train,validation,test}.csv.

The layout is SemEval-2018 Task 1 E-c's: ``ID``, ``Tweet`` and one 0/1 column for each of
the 11 emotions. Each tweet joins 0-3 short clauses, each clause carrying one emotion;
emotions that go together in real tweets (joy with love and optimism, anger with disgust,
fear with pessimism and sadness) are drawn together more often, and about 8% of the tweets
carry no emotion at all (neutral chatter), as in the real data.

Run from the repository root: ``python examples/data/make_emotions.py`` (seeded; the
committed CSVs are its output).
"""

from __future__ import annotations

import csv
import os
import random

CLAUSES = {
    "anger": ["I am so angry right now", "this makes my blood boil", "I am furious with the airline",
              "stop lying to us, I am livid", "so sick of this nonsense, rage"],
    "anticipation": ["can't wait for the weekend", "counting down the days until the concert",
                     "so excited for what comes next", "waiting for the results tomorrow",
                     "the new season starts soon"],
    "disgust": ["that is absolutely revolting", "the food smelled disgusting", "gross, who does that",
                "their behaviour is repulsive", "this makes me want to throw up"],
    "fear": ["I am terrified of the exam", "so scared walking home alone", "my anxiety is through the roof",
             "that noise frightened me", "I am afraid something bad will happen"],
    "joy": ["best day ever", "I am so happy today", "laughing so hard right now", "what a delightful surprise party",
            "feeling cheerful and bright"],
    "love": ["I love you so much", "my family means the world to me", "adore my little puppy",
             "grateful for my wonderful partner", "sending hugs to my best friend"],
    "optimism": ["things will get better", "tomorrow is a new chance", "I believe we can win this",
                 "keep going, the future looks bright", "hopeful about the new job"],
    "pessimism": ["nothing ever works out", "it is only going to get worse", "why even bother trying",
                  "we are doomed anyway", "no point hoping for change"],
    "sadness": ["I miss her so much", "crying myself to sleep", "feeling so lonely tonight",
                "heartbroken about the news", "such a depressing week"],
    "surprise": ["wow, I did not see that coming", "what a shock", "I cannot believe it actually happened",
                 "totally unexpected twist", "out of nowhere, amazing"],
    "trust": ["I know I can count on you", "my doctor always tells the truth", "I trust my team completely",
              "you can rely on them", "loyal friends are the best"],
}
LABELS = list(CLAUSES)
GROUPS = [["joy", "love"], ["joy", "optimism"], ["love", "trust"], ["anger", "disgust"],
          ["fear", "pessimism"], ["sadness", "pessimism"], ["anticipation", "optimism"], ["joy", "surprise"],
          ["fear", "sadness"], ["anger", "sadness"]]
NEUTRAL = ["just had lunch", "the bus was on time", "reading the news", "it is tuesday",
           "posting from my phone", "meeting at three", "new episode is out", "the weather is mild"]
TAGS = ["", "", " #mood", " #life", " @friend", " lol", " #monday", " :)"]


def tweet(rng: random.Random) -> tuple[str, list[str]]:
    """One tweet and its emotions."""
    kind = rng.random()
    if kind < 0.08:
        labels: list[str] = []
    elif kind < 0.45:
        labels = [rng.choice(LABELS)]
    elif kind < 0.85:
        labels = list(rng.choice(GROUPS))
    else:
        labels = rng.sample(LABELS, 3)
    clauses = [rng.choice(CLAUSES[label]) for label in labels]
    if not clauses or rng.random() < 0.4:
        clauses.insert(rng.randint(0, len(clauses)), rng.choice(NEUTRAL))
    text = ", ".join(clauses) + rng.choice([".", "!", "!!", "..."]) + rng.choice(TAGS)
    return text[0].upper() + text[1:], labels


def main() -> None:
    """Generates 600 train, 150 validation and 150 test tweets."""
    rng = random.Random(20261125)
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "emotions_sample")
    os.makedirs(out, exist_ok=True)
    seen: set[str] = set()
    number = 0
    for split, n in (("train", 600), ("validation", 150), ("test", 150)):
        with open(os.path.join(out, f"{split}.csv"), "w", newline="", encoding="utf-8") as f:
            writer = csv.writer(f)
            writer.writerow(["ID", "Tweet", *LABELS])
            rows = 0
            while rows < n:
                text, labels = tweet(rng)
                if text in seen:  # no tweet appears in two splits
                    continue
                seen.add(text)
                number += 1
                rows += 1
                writer.writerow([f"2018-En-{number:05d}", text, *[int(name in labels) for name in LABELS]])


if __name__ == "__main__":
    main()
