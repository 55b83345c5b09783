"""Numbers after a question that asks for several things, and numbers the recogniser garbled."""

from __future__ import annotations

from test_pii_detect import redacted


def test_a_date_prompt_does_not_hide_the_number_prompt_before_it():
    text, counts = redacted("agent: Can you confirm your social security number and date of birth?",
                            "53622 552 525. I was born on 3 March 1985.")
    assert counts == {"ssn": 1, "dob": 1}, text
    assert "552" not in text and "1985" not in text


def test_a_number_with_a_repeated_digit_group_after_an_ssn_prompt():
    text, counts = redacted("agent: And your social security number?", "536 22 55 2525")
    assert counts == {"ssn": 1} and "2525" not in text, text


def test_other_prompts_still_count_as_they_did():
    text, counts = redacted("agent: What is your date of birth and your order number?", "12345678901")
    assert counts == {} and "12345678901" in text
