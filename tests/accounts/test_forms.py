"""Form rules, one table per form: what is accepted, what is refused, and what is kept for redisplay."""

from __future__ import annotations

import pytest

from webapp.accounts import forms

GOOD = "correct horse battery"


def signup(**fields: object) -> forms.SignupForm:
    data = {"username": "alice", "password": GOOD, "confirm": GOOD, "display_name": "", **fields}
    return forms.SignupForm.parse(data)


@pytest.mark.parametrize(
    ("username", "stored"),
    [
        ("alice", "alice"),
        ("Alice_1.x-y", "Alice_1.x-y"),
        ("  bob  ", "bob"),
        ("张三丰", "张三丰"),
        ("ｆｕｌｌｗｉｄｔｈ", "fullwidth"),  # NFKC folds compatibility forms
        ("Ünïcödé", "Ünïcödé"),
        ("u\u0308ber", "über"),  # combining diaeresis composes into one letter
        ("abc", "abc"),
        ("a" * 32, "a" * 32),
        ("Ωμέγα", "Ωμέγα"),
    ],
)
def test_signup_accepts_and_normalises_username(username: str, stored: str) -> None:
    form = signup(username=username)
    assert form.errors == {}
    assert form.username == stored


@pytest.mark.parametrize(
    ("username", "field_error"),
    [
        ("", "Enter a username."),
        ("   ", "Enter a username."),
        ("ab", "A username has 3 to 32 characters."),
        ("a" * 33, "A username has 3 to 32 characters."),
        ("ﬀ" * 20, "A username has 3 to 32 characters."),  # NFKC makes it 40 characters
        ("al ice", "Use only letters, digits and the characters _ . -"),
        ("alice!", "Use only letters, digits and the characters _ . -"),
        ("a/b/c", "Use only letters, digits and the characters _ . -"),
        ("zero\u200bwidth", "Use only letters, digits and the characters _ . -"),
        ("emoji😀", "Use only letters, digits and the characters _ . -"),
        ("<script>", "Use only letters, digits and the characters _ . -"),
        ("x\u0301yz", "Use only letters, digits and the characters _ . -"),  # a combining mark is not a letter
    ],
)
def test_signup_refuses_bad_username(username: str, field_error: str) -> None:
    assert signup(username=username).errors == {"username": field_error}


@pytest.mark.parametrize(
    ("password", "confirm", "errors"),
    [
        ("", "", {"password": "Enter a password."}),
        ("short", "short", {"password": "Use at least 8 characters."}),
        ("1234567", "1234567", {"password": "Use at least 8 characters."}),
        ("x" * 1025, "x" * 1025, {"password": "Use at most 1024 characters."}),
        (GOOD, "different one", {"confirm": "The two passwords do not match."}),
        (GOOD, "", {"confirm": "The two passwords do not match."}),
    ],
)
def test_signup_password_rules(password: str, confirm: str, errors: dict[str, str]) -> None:
    assert signup(password=password, confirm=confirm).errors == errors


@pytest.mark.parametrize("password", ["12345678", "x" * 1024, "密码密码密码密码", "  spaces  "])
def test_signup_accepts_password_lengths_at_the_limits(password: str) -> None:
    form = signup(password=password, confirm=password)
    assert form.errors == {}
    assert form.password == password  # never stripped


@pytest.mark.parametrize(
    ("display_name", "error"),
    [
        ("Alice Liddell", None),
        ("", None),
        ("小明 🐼", None),
        ("x" * 64, None),
        ("x" * 65, "A display name has at most 64 characters."),
        ("rtl\u202eoverride", "The display name contains characters that are not allowed."),
    ],
)
def test_signup_display_name(display_name: str, error: str | None) -> None:
    assert signup(display_name=display_name).errors.get("display_name") == error


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"username": None, "password": None},
        {"username": 42, "password": ["a"]},
        {"username": object(), "password": b"bytes"},
    ],
)
def test_missing_or_non_text_fields_are_errors_not_crashes(data: dict[str, object]) -> None:
    form = forms.SignupForm.parse(data)
    assert set(form.errors) == {"username", "password"}
    assert form.username == ""


def test_huge_value_is_refused_and_only_partly_echoed() -> None:
    form = signup(username="a" * 50_000)
    assert "username" in form.errors
    assert len(form.username) == forms.ECHO_MAX


def test_signup_form_repr_hides_the_password() -> None:
    assert GOOD not in repr(signup())


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("Alice", "alice"),
        ("ALICE", "ａｌｉｃｅ"),
        ("straße", "STRASSE"),
        ("ǅemal", "džemal"),
        ("Ｍüller", "mu\u0308ller"),
    ],
)
def test_username_keys_collide_across_case_and_width(a: str, b: str) -> None:
    assert forms.username_key(forms.normalize_username(a)) == forms.username_key(forms.normalize_username(b))


def test_different_names_have_different_keys() -> None:
    assert forms.username_key("alice") != forms.username_key("alicia")


@pytest.mark.parametrize(
    ("data", "errors"),
    [
        ({"username": "alice", "password": "whatever"}, {}),
        ({"username": "", "password": "whatever"}, {"username": "Enter your username."}),
        ({"username": "alice", "password": ""}, {"password": "Enter your password."}),
        ({}, {"username": "Enter your username.", "password": "Enter your password."}),
        ({"username": "a" * 65, "password": "whatever"}, {"form": "Wrong username or password."}),
        ({"username": "alice", "password": "x" * 1025}, {"form": "Wrong username or password."}),
        ({"username": "not valid!", "password": "whatever"}, {}),  # looked up, not judged
    ],
)
def test_login_form(data: dict[str, str], errors: dict[str, str]) -> None:
    assert forms.LoginForm.parse(data).errors == errors


@pytest.mark.parametrize(
    ("has_password", "has_username", "data", "errors"),
    [
        (True, True, {"current_password": "old", "password": GOOD, "confirm": GOOD}, {}),
        (True, True, {"password": GOOD, "confirm": GOOD}, {"current_password": "Enter your current password."}),
        (False, True, {"password": GOOD, "confirm": GOOD}, {}),
        (False, False, {"password": GOOD, "confirm": GOOD}, {"username": "Enter a username."}),
        (False, False, {"username": "wx_user", "password": GOOD, "confirm": GOOD}, {}),
        (
            True,
            True,
            {"current_password": "old", "password": "short", "confirm": "short"},
            {"password": "Use at least 8 characters."},
        ),
        (
            True,
            True,
            {"current_password": "old", "password": GOOD, "confirm": "nope"},
            {"confirm": "The two passwords do not match."},
        ),
    ],
)
def test_password_form(has_password: bool, has_username: bool, data: dict[str, str], errors: dict[str, str]) -> None:
    form = forms.PasswordForm.parse(data, has_password=has_password, has_username=has_username)
    assert form.errors == errors


def test_password_form_ignores_username_when_account_has_one() -> None:
    form = forms.PasswordForm.parse(
        {"username": "x", "password": GOOD, "confirm": GOOD}, has_password=False, has_username=True
    )
    assert form.username is None


@pytest.mark.parametrize("value", ["tab\tname", "nul\x00", "bell\x07", "line\nbreak", "lone\ud800surrogate", "\x85"])
@pytest.mark.parametrize("field", ["username", "display_name", "password", "confirm"])
def test_control_characters_in_any_field_name_the_field(field: str, value: str) -> None:
    data = {"username": "alice", "display_name": "", "password": "correct horse", "confirm": "correct horse"}
    with pytest.raises(forms.BadField) as refused:
        forms.SignupForm.parse({**data, field: value})
    assert refused.value.name == field
