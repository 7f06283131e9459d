"""Writes the T5 demo's QA sample: t5_sample/{train,validation,test}.csv.

Columns ``context``, ``question``, ``text`` (the answer, always a span of the context),
as ``--task=t5_qa`` reads them. Each context describes one or two invented people in
shuffled sentences (where they live, their job, what they eat, their favourite colour,
their pet); the question asks one fact about one of them, so the answer must be found
next to the right name. Answers are one or two words.

Run from the repository root: ``python examples/data/make_t5_qa.py`` (seeded; the
committed CSVs are its output).
"""

from __future__ import annotations

import csv
import os
import random

NAMES = ["Mira", "Tomas", "Ana", "Lukas", "Sofia", "Jonas", "Elena", "Karl", "Nadia", "Oskar", "Lena", "Pavel",
         "Ines", "Hugo", "Clara", "Marek", "Ida", "Felix", "Greta", "Emil", "Rosa", "Viktor", "Alma", "Bruno"]
FACTS = {
    "city": (["Oslo", "Lisbon", "Prague", "Dublin", "Vienna", "Krakow", "Porto", "Bergen", "Lyon", "Turin",
              "Ghent", "Tallinn", "Seville", "Zurich", "Malmo", "Riga", "New York", "Cape Town", "Buenos Aires"],
             ["{n} lives in {v}.", "{n} has a flat in {v}.", "{n} moved to {v} last year."],
             ["Where does {n} live?", "In which city does {n} live?"]),
    "job": (["baker", "nurse", "pilot", "teacher", "plumber", "lawyer", "chemist", "painter", "farmer", "dentist",
             "librarian", "carpenter", "software engineer", "bus driver", "fire fighter"],
            ["{n} works as a {v}.", "{n} is a {v} by trade.", "By day {n} is a {v}."],
            ["What does {n} work as?", "What is the job of {n}?"]),
    "food": (["soup", "pasta", "rice", "dumplings", "pancakes", "salad", "curry", "noodles", "fish", "olives",
              "apple pie", "goat cheese"],
             ["{n} likes to eat {v}.", "{n} often cooks {v}.", "The favourite dish of {n} is {v}."],
             ["What does {n} like to eat?", "What food does {n} enjoy?"]),
    "colour": (["red", "blue", "green", "yellow", "purple", "orange", "grey", "black", "white", "pink"],
               ["The favourite colour of {n} is {v}.", "{n} loves the colour {v}."],
               ["What is the favourite colour of {n}?", "Which colour does {n} love?"]),
    "pet": (["cat", "dog", "parrot", "rabbit", "hamster", "goldfish", "tortoise", "pony"],
            ["{n} keeps a {v} at home.", "{n} has a pet {v}."],
            ["What pet does {n} have?", "Which animal does {n} keep?"]),
}
FILLER = ["It rained all week.", "The market opens early on Saturdays.", "Trains were late again.",
          "Everyone went to the lake in July."]
SPLITS = {"train": (1600, 11), "validation": (160, 12), "test": (160, 13)}


def person_sentences(rng: random.Random, name: str) -> tuple[list[str], dict[str, str]]:
    """Two to four facts about ``name``: the sentences and the facts' values."""
    kinds = rng.sample(list(FACTS), rng.randint(2, 4))
    facts = {kind: rng.choice(FACTS[kind][0]) for kind in kinds}
    return [rng.choice(FACTS[k][1]).format(n=name, v=v) for k, v in facts.items()], facts


def example(rng: random.Random) -> tuple[str, str, str]:
    """One (context, question, answer) row."""
    people = rng.sample(NAMES, rng.choice([1, 1, 2]))
    sentences, asked = [], None
    for name in people:
        lines, facts = person_sentences(rng, name)
        sentences += lines
        asked = asked or (name, facts)
    if rng.random() < 0.3:
        sentences.append(rng.choice(FILLER))
    rng.shuffle(sentences)
    name, facts = asked
    kind = rng.choice(list(facts))
    return " ".join(sentences), rng.choice(FACTS[kind][2]).format(n=name), facts[kind]


def main() -> None:
    """Writes the three CSVs next to this script."""
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "t5_sample")
    os.makedirs(out, exist_ok=True)
    for split, (n, seed) in SPLITS.items():
        rng = random.Random(seed)
        with open(os.path.join(out, f"{split}.csv"), "w", newline="", encoding="utf-8") as f:
            writer = csv.writer(f)
            writer.writerow(["context", "question", "text"])
            writer.writerows(example(rng) for _ in range(n))


if __name__ == "__main__":
    main()
