"""Script format: valid scripts load; malformed ones name file, conversation and step."""

from __future__ import annotations

from pathlib import Path

import pytest

from convtest.script import ScriptError, find_script_files, load_scripts, parse_file

RESPONSES = {"utter_disclaimer", "utter_greet", "utter_urgent_red_flag"}
KB_IDS = {"captem", "folfiri"}


def write(tmp_path: Path, text: str, name: str = "flow.yml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def errors_of(tmp_path: Path, text: str) -> list[ScriptError]:
    _, errors = parse_file(write(tmp_path, text), RESPONSES, KB_IDS)
    return errors


def test_valid_script_loads_steps_and_expectations(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
conversations:
  - name: CAPTEM follow-ups
    steps:
      - user: what is CAPTEM?
        kb_entry: captem
        contains: [capecitabine, temozolomide]
        not_matches: '\\d+\\s*mg'
        disclaimer: true
      - button: 2
        buttons: 3
      - button: "How is it given?"
        responses: utter_disclaimer
        repeat: 2
""",
    )
    conversations, errors = parse_file(path, RESPONSES, KB_IDS)
    assert errors == []
    (conv,) = conversations
    assert conv.name == "CAPTEM follow-ups" and conv.suite == "flow"
    first, second, third = conv.steps
    assert first.user == "what is CAPTEM?" and first.expect.kb_entry == ("captem",)
    assert first.expect.contains == ("capecitabine", "temozolomide")
    assert first.expect.not_matches == ("\\d+\\s*mg",)
    assert first.expect.disclaimer is True
    assert second.button == 2 and second.expect.buttons == 3
    assert third.expect.responses == ("utter_disclaimer",) and third.repeat == 2


def test_messages_form_expands_to_one_conversation_per_message(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
conversations:
  - name: Fever
    before:
      - user: hi
    messages: ["temp 38.4", "I feel shivery"]
    expect:
      urgent_first: true
""",
    )
    conversations, errors = parse_file(path, RESPONSES, KB_IDS)
    assert errors == []
    assert [c.name for c in conversations] == [
        "Fever #1: temp 38.4",
        "Fever #2: I feel shivery",
    ]
    assert [s.user for s in conversations[1].steps] == ["hi", "I feel shivery"]
    assert conversations[1].steps[1].expect.urgent_first is True
    assert conversations[1].steps[1].index == 2


@pytest.mark.parametrize(
    "body, fragment, step",
    [
        (
            "- user: hi\n        contain: x",
            "field 'contain': unknown field (did you mean 'contains'?)",
            1,
        ),
        ("- user: 38.5", "field 'user': must be text in quotes", 1),
        ("- user: yes", "field 'user': must be text in quotes", 1),
        ("- hello there", "a step must be a mapping", 1),
        ("- user: hi\n        button: 1", "exactly one of 'user:'", 1),
        ("- user: hi\n      - button: 0", "numbers start at 1", 2),
        ("- user: hi\n        responses: utter_gret", "did you mean 'utter_greet'", 1),
        ("- user: hi\n        kb_entry: captme", "unknown KB entry 'captme'", 1),
        ("- user: hi\n        matches: '(unclosed'", "not a valid regex", 1),
        (
            "- user: hi\n        disclaimer: maybe",
            "field 'disclaimer': must be true or false",
            1,
        ),
        ("- user: hi\n        buttons: true", "field 'buttons': must be a number", 1),
        ("- user: hi\n        kb_facet: dosage", "field 'kb_facet': must be one of", 1),
        ("- user: hi\n        repeat: 0", "field 'repeat': must be a whole number", 1),
        ("- user: hi\n        contains: [x, 3]", "put numbers, yes/no", 1),
        (
            "- user: hi\n        silent: true\n        contains: x",
            "cannot be combined",
            1,
        ),
    ],
)
def test_bad_step_is_reported_with_file_conversation_and_step(
    tmp_path: Path, body: str, fragment: str, step: int
) -> None:
    text = f"conversations:\n  - name: Broken\n    steps:\n      {body}\n"
    errors = errors_of(tmp_path, text)
    assert len(errors) == 1, errors
    error = errors[0]
    assert error.conversation == "Broken" and error.step == step
    assert fragment in str(error)
    assert str(error).startswith(
        str(tmp_path / "flow.yml") + ", conversation 'Broken', step "
    )


@pytest.mark.parametrize(
    "text, fragment",
    [
        ("conversations: [\n", "not valid YAML at line"),
        ("- name: x\n", "must start with 'conversations:'"),
        (
            "conversations:\n  - steps: [{user: hi}]\n",
            "field 'conversations[1].name': is required",
        ),
        ("conversations:\n  - name: A\n", "exactly one of 'steps:' or 'messages:'"),
        ("conversations:\n  - name: A\n    steps: []\n", "non-empty list of steps"),
        (
            "conversations:\n  - name: A\n    step: [{user: hi}]\n",
            "did you mean 'steps'",
        ),
        (
            "conversations:\n  - name: A\n    steps: [{user: hi}]\n"
            "  - name: A\n    steps: [{user: hi}]\n",
            "two conversations have this name",
        ),
        ("conversations:\n  - name: A\n    messages: [hi]\n", "needs an 'expect:'"),
        (
            "conversations:\n  - name: A\n    messages: [hi, 3]\n    expect: {disclaimer: true}\n",
            "field 'messages[2]': must be text",
        ),
        (
            "conversations:\n  - name: A\n    messages: [hi]\n    expect: {user: hi}\n",
            "field 'expect.user': unknown field",
        ),
        (
            "conversations:\n  - name: A\n    steps: [{user: hi}]\n    expect: {silent: true}\n",
            "only goes with 'messages:'",
        ),
    ],
)
def test_bad_file_or_conversation_is_reported(
    tmp_path: Path, text: str, fragment: str
) -> None:
    errors = errors_of(tmp_path, text)
    assert any(fragment in str(e) for e in errors), errors


def test_all_problems_are_collected_not_just_the_first(tmp_path: Path) -> None:
    text = """
conversations:
  - name: A
    steps:
      - user: hi
        contian: x
      - user: hi
        kb_entry: nope
  - name: B
    steps: [{user: 1}]
"""
    errors = errors_of(tmp_path, text)
    assert [(e.conversation, e.step) for e in errors] == [("A", 1), ("A", 2), ("B", 1)]


def test_names_are_not_checked_without_a_domain_or_kb(tmp_path: Path) -> None:
    path = write(
        tmp_path, "conversations:\n  - name: A\n    steps: [{user: hi, kb_entry: x}]\n"
    )
    _, errors = parse_file(path)
    assert errors == []


def test_load_scripts_finds_files_and_filters_by_name(tmp_path: Path) -> None:
    write(
        tmp_path, "conversations:\n  - name: Alpha\n    steps: [{user: hi}]\n", "a.yml"
    )
    (tmp_path / "sub").mkdir()
    write(
        tmp_path,
        "conversations:\n  - name: Beta\n    steps: [{user: hi}]\n",
        "sub/b.yml",
    )
    (tmp_path / "README.md").write_text("not a script")
    assert [p.name for p in find_script_files([tmp_path])] == ["a.yml", "b.yml"]
    conversations, errors = load_scripts([tmp_path], name_filter="BETA")
    assert errors == [] and [c.name for c in conversations] == ["Beta"]
    _, errors = load_scripts([tmp_path / "missing.yml"])
    assert "no such file" in str(errors[0])


def test_a_bad_script_names_file_conversation_step_and_field(tmp_path: Path) -> None:
    text = (
        "conversations:\n  - name: Fever\n    steps:\n      - user: hi\n"
        "      - user: temp 38\n        urgent_first: sometimes\n"
    )
    (error,) = errors_of(tmp_path, text)
    assert str(error) == (
        f"{tmp_path / 'flow.yml'}, conversation 'Fever', step 2, field 'urgent_first': "
        "must be true or false (got 'sometimes')"
    )
    assert (error.conversation, error.step, error.field) == ("Fever", 2, "urgent_first")


def test_names_in_expect_are_checked_too(tmp_path: Path) -> None:
    text = (
        "conversations:\n  - name: M\n    messages: [hi]\n"
        "    expect: {responses: utter_greeet, kb_entry: [captem, folfirl]}\n"
    )
    errors = errors_of(tmp_path, text)
    assert [(e.field, e.message) for e in errors] == [
        (
            "expect.responses",
            "unknown response 'utter_greeet' (did you mean 'utter_greet'?)",
        ),
        ("expect.kb_entry", "unknown KB entry 'folfirl' (did you mean 'folfiri'?)"),
    ]


def test_schema_knows_every_expectation_and_facet() -> None:
    import json

    from convtest.script import EXPECTATION_KEYS, SCHEMA_PATH
    from kb import FACETS

    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    expectations = schema["definitions"]["expectations"]["properties"]
    assert tuple(expectations) == EXPECTATION_KEYS
    assert tuple(expectations["kb_facet"]["enum"]) == ("what_is",) + FACETS
    step_keys = set(schema["definitions"]["step"]["properties"])
    assert step_keys == {"user", "button", "repeat", "note"} | set(EXPECTATION_KEYS)


def test_a_non_mapping_step_gets_one_message(tmp_path: Path) -> None:
    text = "conversations:\n  - name: A\n    steps:\n      - hello\n      - 3\n"
    errors = errors_of(tmp_path, text)
    assert [(e.step, e.message.split(" (got")[0]) for e in errors] == [
        (1, "a step must be a mapping like 'user: ...' (with a dash before 'user:'), "
         "not plain text"),
        (2, "a step must be a mapping like 'user: ...' (with a dash before 'user:'), "
         "not plain text"),
    ]  # fmt: skip
