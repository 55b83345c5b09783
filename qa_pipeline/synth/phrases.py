"""Phrase pools for synthetic calls.

Every pool holds several wordings of the same move so generated calls differ. Wording is
chosen to survive a telephone line and a small Whisper model: plain words, no brand names the
model mangles ("Northwind" often comes back as "North Wind"), numbers that read the same as
words.

Lines that plant nothing must not contain what a QA check looks for elsewhere: customers'
explanations carry no frustration words ("again and again", "still hasn't"), paraphrases no
empathy words ("I understand"), and helpful or neutral agent lines no closing or prohibited
wording ("take care", "bye", "what I can do"). Otherwise a correct scorer would disagree with
the ground truth.
"""

from __future__ import annotations

from dataclasses import dataclass

# "Northwind Bank" comes back from tiny.en as "North Wind Bank" about one time in three.
DEFAULT_COMPANY = "Riverside Bank"


@dataclass(frozen=True)
class Problem:
    """One reason for calling, with the lines that belong to it.

    Attributes:
        topic: ``billing``, ``card``, ``password`` or ``delivery``.
        explain: The customer's opening explanation (long enough to be talked over).
        paraphrase: The agent restating it (active listening).
        resolution: The agent's fix.
        request: A further request from the customer that the agent may refuse rudely.
    """

    topic: str
    explain: str
    paraphrase: str
    resolution: str
    request: str


PROBLEMS: tuple[Problem, ...] = (
    Problem(
        "billing",
        "Hi, I was charged twice for my March bill, and I would like the extra payment refunded please.",
        "So just to confirm, you were charged twice for your March bill, is that right?",
        "I can see the second payment. I have refunded it, and it should be back in your account within three days.",
        "Can you make sure this doesn't happen again next month?",
    ),
    Problem(
        "billing",
        "Hello, there is a late fee on my statement, but I paid the bill two days before it was due.",
        "So what you're saying is, you paid on time but you were still charged a late fee?",
        "You're right, the payment arrived on time, so I have taken the charge off your account.",
        "Could you also take off the fee from last month?",
    ),
    Problem(
        "card",
        "Hi, I lost my debit card yesterday, and I need to block it before anyone else can use it.",
        "If I heard you correctly, your debit card is lost and you want it blocked right away?",
        "I have blocked the card, and a new one will arrive in the post within five working days.",
        "Can you send the new card by express delivery instead?",
    ),
    Problem(
        "card",
        "Hello, my card was declined at the shop this morning, even though there is plenty of money in my account.",
        "Just to confirm, your card was declined even though you have enough money in the account?",
        "I found a security block on the card. I have removed it, so your next payment should go through.",
        "Can you tell me why the block was put there in the first place?",
    ),
    Problem(
        "password",
        "Hi, I'm locked out of online banking. I reset my password, but the new one doesn't work either.",
        "Just to make sure I have this right, you're locked out of online banking and the password reset didn't work?",
        "I have unlocked your account and sent you a new reset link by text message.",
        "Can you just tell me the new password over the phone?",
    ),
    Problem(
        "password",
        "Hello, I never get the security code when I log in to the app on my phone.",
        "Correct me if I'm wrong, but the security code never arrives when you log in to the app?",
        "Your phone number on file was out of date. I have updated it, so the next code will reach you.",
        "Can you turn off the security codes completely?",
    ),
    Problem(
        "delivery",
        "Hi, I ordered a new card reader two weeks ago, and it hasn't arrived at my house yet.",
        "So just to confirm, you ordered a card reader two weeks ago and it hasn't arrived yet?",
        "The first one was lost in the post. I have sent a replacement, and it will arrive on Friday.",
        "Can it be delivered to my office instead?",
    ),
    Problem(
        "delivery",
        "Hello, my new card was sent to my old address, and I moved out of that house last month.",
        "If I heard you correctly, your new card was sent to your old address after you moved?",
        "I have cancelled that one and sent a replacement to where you live now. It will arrive this week.",
        "Can I pick it up at a branch instead?",
    ),
)

TOPICS: tuple[str, ...] = ("billing", "card", "password", "delivery")

# Openings by (greeting, self_identification). Self-identification means name and company.
OPENINGS: dict[tuple[bool, bool], tuple[str, ...]] = {
    (True, True): (
        "Thank you for calling {company}, my name is {name}, how can I help you today?",
        "Good morning, you're through to {company}, this is {name} speaking. How may I help you?",
        "Hello, thanks for calling {company}. My name is {name}. What can I do for you today?",
    ),
    (True, False): (
        "Hello, thank you for calling. How can I help you today?",
        "Good afternoon, thanks for calling. How may I help you?",
    ),
    (False, True): (
        "This is {name} at {company}. What do you need?",
        "My name is {name}, from {company}. What's the problem?",
    ),
    (False, False): (
        "Yeah, what do you need?",
        "Yes? What is it?",
    ),
}

FRUSTRATION: tuple[str, ...] = (
    "This is the third time I've called about this, it's really frustrating.",
    "I already explained all of this to someone last week. I'm really fed up with it.",
    "Nobody ever fixes this, and honestly I'm getting really frustrated.",
)

EMPATHY: tuple[str, ...] = (
    "I understand how frustrating that must be, I'm sorry.",
    "I'm really sorry about that, I can see why you're upset.",
    "I completely understand, and I apologize for the trouble.",
)

CONFIRM: tuple[str, ...] = (
    "Yes, that's right.",
    "Yes, exactly.",
    "That's correct, yes.",
)

# What an agent says instead of paraphrasing: moves on without showing it understood.
ACKNOWLEDGE: tuple[str, ...] = (
    "Okay, let me look at your account.",
    "Alright, let me pull up your details.",
)

INTERRUPT: tuple[str, ...] = (
    "Wait, wait, let me stop you there.",
    "Right, right, I know what you mean.",
    "Yes, yes, hang on, I see it.",
)

POSITIVE: tuple[str, ...] = (
    "Absolutely, I can definitely sort that out for you.",
    "Of course, let me fix that for you right away.",
    "Certainly, I'll get that sorted out for you.",
)

VERIFY: tuple[str, ...] = (
    "Before I look into it, can you confirm your full name, please?",
    "Could I have your full name, please, so I can find your account?",
)

CUSTOMER_NAMES: tuple[str, ...] = (
    "Yes, it's Daniel Brown.",
    "Sure, it's Laura Wilson.",
    "It's Mark Taylor.",
    "Yes, Helen Clark.",
)

HOLD_ANNOUNCEMENT: tuple[str, ...] = (
    "May I place you on a brief hold for about two minutes while I check that?",
    "Would it be okay if I put you on hold for a minute while I look into this?",
    "I need to check with my team. Can I put you on a short hold for a couple of minutes?",
)

HOLD_ACCEPT: tuple[str, ...] = (
    "Sure, go ahead.",
    "Yes, that's fine.",
    "Okay, no problem.",
)

HOLD_THANKS: tuple[str, ...] = (
    "Thank you for holding.",
    "Thanks so much for waiting.",
    "Thank you for your patience, I'm back.",
)

PROHIBITED: tuple[str, ...] = (
    "That's not my problem.",
    "There's nothing I can do about that.",
    "That's not my department, you'll have to call someone else.",
)

# A helpful answer to the customer's further request.
HELPFUL_REPLY: tuple[str, ...] = (
    "Sure, I've added a note to your account, and the team will follow up with you.",
    "Yes, I'll make sure that's sorted out for you today.",
)

CLOSING: tuple[str, ...] = (
    "Is there anything else I can help you with today?",
    "Is there anything else I can do for you today?",
    "Can I help you with anything else today?",
)

CLOSING_REPLY: tuple[str, ...] = (
    "No, that's everything, thank you.",
    "No, that's all, thanks.",
)

FAREWELL: tuple[str, ...] = (
    "Thank you for calling {company}, have a great day.",
    "Thanks for calling, take care.",
)

# How a call ends when the agent does not close it.
ABRUPT_END_CUSTOMER: tuple[str, ...] = (
    "Alright. Thanks, bye.",
    "Okay then, bye.",
)

# Says nothing a closing check could credit (no farewell, no offer of further help).
ABRUPT_END_AGENT: tuple[str, ...] = ("Okay.", "Alright then.")
