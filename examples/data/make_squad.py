"""Writes the QA demo's sample: squad_sample/{train,validation,test}.json, official SQuAD v2.0 layout.

Each paragraph describes one invented town, person or company in a few fact sentences
(founder, year, river, profession, products, ...) mixed with filler sentences and a fact
about a neighbouring entity, so an answer must match the question's subject and not just
its type. About one paragraph in five is padded with filler past 192 tokens, so its questions
are answered across several windows. Questions paraphrase the facts (two or three wordings
each); about a quarter ask for a fact the paragraph does not state and are marked
``is_impossible`` (with a ``plausible_answers`` entry, as in the real data, which scoring
ignores).

Run from the repository root: ``python examples/data/make_squad.py`` (seeded; the
committed files are its output).
"""

from __future__ import annotations

import json
import os
import random

FIRST = ["Ada", "Bram", "Cora", "Dmitri", "Elena", "Farid", "Greta", "Hugo", "Ines", "Jonas", "Kira", "Lars",
         "Mara", "Nils", "Olga", "Pavel", "Rosa", "Stefan", "Tilda", "Umar", "Vera", "Wim", "Yara", "Zeno"]
LAST = ["Halvorsen", "Marchetti", "Okafor", "Lindqvist", "Brandt", "Costa", "Novak", "Reyes", "Sato", "Weber",
        "Dubois", "Kowalski", "Petrov", "Moreau", "Jansen", "Horvat", "Silva", "Berger", "Nakamura", "Olsen"]
TOWNS = ["Alderwick", "Brenford", "Caldmoor", "Dunhaven", "Elmstead", "Farrowgate", "Glenbury", "Harlowe",
         "Ivybridge", "Kestrel Point", "Larkspur", "Millbrook", "Northcombe", "Oakhollow", "Pennick", "Quarry Bay",
         "Redmere", "Stonewell", "Thornby", "Upton Vale", "Westerleigh", "Yarrow"]
RIVERS = ["Aske", "Brill", "Corran", "Dallow", "Esk", "Fenn", "Gara", "Hollin", "Isla", "Lune", "Marrow", "Tavy"]
PROFESSIONS = ["carpenter", "ship's doctor", "glassblower", "cartographer", "schoolteacher", "clockmaker",
               "botanist", "stonemason", "violinist", "newspaper editor", "bridge engineer", "beekeeper"]
PRODUCTS = ["copper kettles", "wool blankets", "pocket watches", "fishing nets", "paper lanterns", "bicycle bells",
            "tin whistles", "leather boots", "glass marbles", "wooden toys", "sailcloth", "pipe organs"]
FAMOUS_FOR = ["its salt marshes", "a horse fair", "blue cheese", "a lighthouse", "its cherry orchards",
              "a clock tower", "the spring regatta", "slate roofs", "a puppet theatre", "its hot springs"]
COMPANY_WORDS = ["Northwind", "Brightforge", "Silverline", "Oakmont", "Redfern", "Bluewater", "Ironbark", "Sunvale"]
FILLER = ["The weather in the region is mild for most of the year.",
          "Visitors often remark on the quiet streets and the old stone bridges.",
          "Local records from that period are incomplete, and historians still argue about the details.",
          "A weekly market is held in the main square, where farmers sell vegetables and eggs.",
          "Several of the older buildings were restored after a fire damaged the eastern quarter.",
          "The surrounding hills are covered in heather and are popular with walkers in summer.",
          "A small museum displays maps, letters and photographs donated by local families.",
          "Trains stop there twice a day, although most people still travel by bus.",
          "In winter the roads are sometimes closed by snow for several days at a time.",
          "A local choir performs in the chapel every December.",
          "The library was extended in the nineteen seventies and again more recently.",
          "Many of the families who live there today arrived within the last three generations."]


def person(rng: random.Random) -> str:
    return f"{rng.choice(FIRST)} {rng.choice(LAST)}"


def year(rng: random.Random) -> str:
    return str(rng.randint(1620, 1990))


def town_facts(rng: random.Random, town: str) -> list[tuple[str, str, list[str]]]:
    """(sentence, answer, questions) for a town; the answer is a substring of the sentence."""
    founder, founded, river = person(rng), year(rng), rng.choice(RIVERS)
    famous, people = rng.choice(FAMOUS_FOR), f"{rng.randint(2, 90)},{rng.randint(100, 999)}"
    return [
        (f"{town} was founded by {founder}.", founder,
         [f"Who founded {town}?", f"Which person founded {town}?", f"{town} was founded by whom?"]),
        (f"The settlement of {town} dates back to {founded}, when the first houses were built.", founded,
         [f"When was {town} founded?", f"In what year was {town} founded?"]),
        (f"{town} lies on the banks of the River {river}.", f"River {river}",
         [f"Which river does {town} lie on?", f"What river flows through {town}?"]),
        (f"Today {town} is best known for {famous}.", famous,
         [f"What is {town} best known for?", f"What is {town} famous for?"]),
        (f"About {people} people live in {town}.", people,
         [f"How many people live in {town}?", f"What is the population of {town}?"]),
    ]


def person_facts(rng: random.Random, name: str) -> list[tuple[str, str, list[str]]]:
    born, town, job, spouse = year(rng), rng.choice(TOWNS), rng.choice(PROFESSIONS), person(rng)
    last = name.split()[-1]
    return [
        (f"{name} was born in {town}.", town,
         [f"Where was {name} born?", f"In which town was {name} born?"]),
        (f"According to the parish register, {last} was born in the year {born}.", born,
         [f"When was {name} born?", f"In what year was {name} born?"]),
        (f"For most of their life, {last} worked as a {job}.", job,
         [f"What did {name} work as?", f"What was {name}'s profession?", f"What job did {name} have?"]),
        (f"In later years {last} married {spouse}.", spouse,
         [f"Who did {name} marry?", f"Who was {name}'s spouse?"]),
    ]


def company_facts(rng: random.Random, company: str) -> list[tuple[str, str, list[str]]]:
    founder, founded, product, town = person(rng), year(rng), rng.choice(PRODUCTS), rng.choice(TOWNS)
    return [
        (f"{company} was started by {founder} in {founded}.", founder,
         [f"Who started {company}?", f"Who founded {company}?"]),
        (f"The company has made {product} since {founded}.", product,
         [f"What does {company} make?", f"What products does {company} make?"]),
        (f"Its main workshop is in {town}.", town,
         [f"Where is {company}'s main workshop?", f"In which town is the workshop of {company}?"]),
    ]


def subject_of(rng: random.Random, kind: str) -> str:
    if kind == "town":
        return rng.choice(TOWNS)
    if kind == "person":
        return person(rng)
    return f"{rng.choice(COMPANY_WORDS)} {rng.choice(['Works', 'and Sons', 'Company'])}"


def paragraph(rng: random.Random, kind: str) -> tuple[str, list[dict]]:
    """One context and its questions (answerable and not)."""
    maker = {"town": town_facts, "person": person_facts, "company": company_facts}[kind]
    subject = subject_of(rng, kind)
    neighbour = subject_of(rng, kind)
    while neighbour.split()[-1] in subject or subject.split()[-1] in neighbour:
        neighbour = subject_of(rng, kind)
    facts, decoys = maker(rng, subject), maker(rng, neighbour)
    # One fact is left out (its questions are impossible); half the time it is the one the
    # neighbour's sentence states, whose answer is then a plausible but wrong answer.
    left_out = rng.randrange(len(facts))
    decoy = left_out if rng.random() < 0.5 else rng.randrange(len(facts))
    stated = [f for i, f in enumerate(facts) if i != left_out]
    long_one = rng.random() < 0.2  # ~12 filler sentences: 250-300 tokens, two or three windows
    fillers = rng.sample(FILLER, k=len(FILLER))
    sentences = [s for s, _, _ in stated[1:]] + [decoys[decoy][0]]
    sentences += fillers[:rng.randint(10, 12) if long_one else rng.randint(0, 2)]
    rng.shuffle(sentences)
    context = " ".join([stated[0][0]] + sentences)  # open with a fact about the subject
    qas = []
    for i, (sentence, answer, questions) in enumerate(facts):
        qa: dict = {"question": rng.choice(questions), "is_impossible": i == left_out, "answers": []}
        if i != left_out:
            qa["answers"] = [{"text": answer, "answer_start": context.index(answer, context.index(sentence))}]
        elif decoy == left_out:
            wrong = decoys[decoy][1]
            qa["plausible_answers"] = [{"text": wrong, "answer_start": context.index(wrong, context.index(decoys[decoy][0]))}]
        qas.append(qa)
    return context, rng.sample(qas, k=min(len(qas), 4))


def write_split(path: str, n_paragraphs: int, seed: int, prefix: str) -> int:
    rng = random.Random(seed)
    articles, count = [], 0
    for i in range(n_paragraphs):
        kind = rng.choice(["town", "person", "company"])
        context, qas = paragraph(rng, kind)
        for j, qa in enumerate(qas):
            qa["id"] = f"{prefix}-{i:03d}-{j}"
        count += len(qas)
        articles.append({"title": f"{kind} {i}", "paragraphs": [{"context": context, "qas": qas}]})
    with open(path, "w", encoding="utf-8") as f:
        json.dump({"version": "v2.0", "data": articles}, f, indent=1, ensure_ascii=False)
        f.write("\n")
    return count


if __name__ == "__main__":
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "squad_sample")
    os.makedirs(out, exist_ok=True)
    for split, paragraphs, seed in (("train", 90, 1), ("validation", 25, 2), ("test", 25, 3)):
        n = write_split(os.path.join(out, f"{split}.json"), paragraphs, seed, split)
        print(f"{split}: {n} questions")
