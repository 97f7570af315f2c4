#!/usr/bin/env python3
"""Writes examples/text/data: a SYNTHETIC sentiment task of short café reviews.

Every sentence is generated here from templates and word lists written for this script (no
outside text), with a fixed seed, so the files are reproducible and carry this repository's
licence. A sentence's rule label is 1 (positive) or 0 (negative):

  the soup was very tasty .                 positive adjective                  -> 1
  the waiter was not friendly .             negation flips the adjective        -> 0
  i hated the bread .                       verb polarity                       -> 0
  i did not like the music .                negation flips the verb             -> 0
  the tea was cold but the cake was great . contrast: the clause after "but"    -> 1
  the room was warm and the staff was kind .two clauses of the same polarity     -> 1

with optional neutral openings ("honestly ,", "on monday", ...). The training labels carry
deliberate noise: 6% of them (chosen with the seed) are flipped, so some training sentences
contradict the rules and an attribution method has something to find. Test labels are the
rule labels. No test sentence occurs in the training set, and no sentence occurs twice.

Files (UTF-8, tab-separated, one header line):
  train.tsv  label, rule_label, sentence   (1200 rows; label != rule_label where flipped)
  test.tsv   label, rule_label, sentence   (200 rows; label == rule_label)

Usage: tools/make_text_data.py [OUT_DIR]   (standard library only; the output is committed)
"""
import pathlib
import random
import sys

SEED = 0
TRAIN_COUNT = 1200
TEST_COUNT = 200
NOISE = 0.06

NOUNS = ["soup", "coffee", "service", "staff", "bread", "music", "room", "waiter", "cake", "tea", "salad", "menu",
         "pasta", "terrace", "dessert", "pizza"]
POSITIVE_ADJECTIVES = ["good", "great", "lovely", "tasty", "friendly", "fresh", "excellent", "warm", "perfect",
                       "pleasant", "delicious", "kind", "superb", "charming"]
NEGATIVE_ADJECTIVES = ["bad", "awful", "cold", "rude", "stale", "bland", "slow", "dirty", "terrible", "noisy",
                       "boring", "greasy", "dreadful", "soggy"]
ADVERBS = ["", "", "", "very", "really", "quite", "truly", "so", "extremely"]
POSITIVE_VERBS = ["loved", "enjoyed", "liked", "adored", "appreciated"]
NEGATIVE_VERBS = ["hated", "disliked", "regretted", "detested"]
# The base form after "did not".
BASE_FORM = {"loved": "love", "enjoyed": "enjoy", "liked": "like", "adored": "adore", "appreciated": "appreciate",
             "hated": "hate", "disliked": "dislike", "regretted": "regret", "detested": "detest"}
OPENINGS = ["", "", "", "", "honestly ,", "overall ,", "on monday", "last night", "we thought", "my friend said",
            "to be fair ,", "as usual"]
SUBJECTS = ["i", "we", "my sister", "everyone"]


def clause(rng):
    """One clause and its polarity (1 positive, 0 negative)."""
    noun = rng.choice(NOUNS)
    if rng.random() < 0.6:
        positive = rng.random() < 0.5
        adjective = rng.choice(POSITIVE_ADJECTIVES if positive else NEGATIVE_ADJECTIVES)
        adverb = rng.choice(ADVERBS)
        negated = rng.random() < 0.25
        words = ["the", noun, "was"] + (["not"] if negated else []) + ([adverb] if adverb else []) + [adjective]
    else:
        positive = rng.random() < 0.5
        verb = rng.choice(POSITIVE_VERBS if positive else NEGATIVE_VERBS)
        negated = rng.random() < 0.25
        subject = rng.choice(SUBJECTS)
        verbs = ["did", "not", BASE_FORM[verb]] if negated else [verb]
        words = [subject] + verbs + ["the", noun]
    return words, int(positive != negated)


def sentence(rng):
    """A whole sentence (words joined by spaces) and its rule label."""
    opening = rng.choice(OPENINGS).split()
    first, first_label = clause(rng)
    shape = rng.random()
    if shape < 0.55:
        words, label = first, first_label
    elif shape < 0.8:
        second, label = clause(rng)
        while label == first_label:  # a contrast: the clause after "but" decides
            second, label = clause(rng)
        words = first + ["but"] + second
    else:
        second, second_label = clause(rng)
        while second_label != first_label:
            second, second_label = clause(rng)
        words, label = first + ["and"] + second, first_label
    return " ".join(opening + words + ["."]), label


def main():
    out = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "examples/text/data")
    out.mkdir(parents=True, exist_ok=True)
    rng = random.Random(SEED)
    seen = set()
    rows = []
    while len(rows) < TRAIN_COUNT + TEST_COUNT:
        text, label = sentence(rng)
        if text not in seen:
            seen.add(text)
            rows.append((label, text))
    train, test = rows[:TRAIN_COUNT], rows[TRAIN_COUNT:]
    flipped = set(rng.sample(range(TRAIN_COUNT), round(NOISE * TRAIN_COUNT)))
    for name, part, noisy in [("train", train, flipped), ("test", test, set())]:
        with open(out / f"{name}.tsv", "w", encoding="utf-8") as f:
            f.write("label\trule_label\tsentence\n")
            for i, (label, text) in enumerate(part):
                f.write(f"{1 - label if i in noisy else label}\t{label}\t{text}\n")
    longest = max(len(text.split()) for _, text in rows)
    print(f"wrote {out}: {len(train)} train ({len(flipped)} labels flipped), {len(test)} test, "
          f"longest {longest} words")


if __name__ == "__main__":
    main()
