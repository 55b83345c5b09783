"""Spelled and misheard e-mail addresses leave no fragments behind."""

from __future__ import annotations

import pytest

from test_pii_detect import redacted

CASES = [
    # spelled letter by letter: the whole run belongs to the address
    (("My email is j o h n dot smith at example dot com.",), ("j o h", "smith")),
    (("agent: And your email address?", "It is j o h n at gmail dot com"), ("j o h", "gmail")),
    (("My email is J. O. H. N. at example dot com",), ("J. O.", "example")),
    (("My email is m a r y j o n e s at outlook dot com",), ("m a r", "j o n e s")),
    # a word joined by "dot" to a spelled name: the word goes with the letters
    (("agent: And your email address?", "It's Mary dot J O N E F at outlook.com"), ("mary", "j o n")),
    (("My email is mary dot j o n e s at outlook dot com.",), ("mary", "j o n", "outlook")),
    # misheard "at" and "dot" after a long prompt: the run ending in a domain is the address
    (
        ("agent: Can I get your email address so we can send you the receipt today and also confirm the account?",
         "Yeah sure no problem at all. It is Jane Dot, though, what examples.org"),
        ("Jane", "examples"),
    ),
    (("My email address is, um, Jane Dot, though, what examples.org",), ("Jane", "examples")),
]


@pytest.mark.parametrize("lines,gone", CASES)
def test_no_fragment_survives(lines, gone):
    text, counts = redacted(*lines)
    assert counts == {"email": 1}, text
    for fragment in gone:
        assert fragment.lower() not in text.lower(), text


def test_ordinary_words_stay():
    text, counts = redacted("agent: Can I get your email?", "It is a j o h n at example dot com, and I am fine.")
    assert counts == {"email": 1} and "It is a [EMAIL]" in text and "I am fine" in text
    text, counts = redacted("I spelled it out for you a minute ago, visit the branch at noon.")
    assert counts == {}
