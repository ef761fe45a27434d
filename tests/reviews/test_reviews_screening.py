"""Screening of comments: the corpus's precision and recall, and the rules one by one."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from services.reviews.screening import (
    Lexicon,
    luhn,
    normalise,
    offensive_words,
    screen,
    valid_cnpj,
    valid_cpf,
)

CORPUS = [json.loads(line) for line in
          (Path(__file__).parent / "corpus.jsonl").read_text(encoding="utf-8").splitlines()
          if line.strip()]


def test_corpus_precision_and_recall() -> None:
    tp = fp = fn = 0
    wrong = []
    for row in CORPUS:
        got, want = set(screen(row["text"]).flags), set(row["flags"])
        tp, fp, fn = tp + len(got & want), fp + len(got - want), fn + len(want - got)
        if got != want:
            wrong.append((row["text"], sorted(want), sorted(got)))
    precision, recall = tp / (tp + fp), tp / (tp + fn)
    clean = sum(1 for r in CORPUS if not r["flags"])
    print(f"\nscreening corpus: {len(CORPUS)} comments ({clean} clean), "
          f"precision {precision:.3f}, recall {recall:.3f}, misses {wrong}")
    assert len(CORPUS) >= 80 and clean >= 40
    assert precision >= 0.95 and recall >= 0.95, wrong


@pytest.mark.parametrize("value", ["529.982.247-25", "52998224725", "529 982 247 25"])
def test_cpf_in_any_punctuation_is_flagged_and_redacted(value: str) -> None:
    result = screen(f"Meu CPF é {value}, obrigado.")
    assert result.flags == ("cpf",)
    assert result.redacted == "Meu CPF é [CPF], obrigado."


def test_check_digits_decide() -> None:
    assert valid_cpf("529.982.247-25") and not valid_cpf("529.982.247-26")
    assert not valid_cpf("111.111.111-11")
    assert valid_cnpj("11.222.333/0001-81") and not valid_cnpj("11.222.333/0001-82")
    assert luhn("4111 1111 1111 1111") and not luhn("4111 1111 1111 1112")
    assert screen("CPF 529.982.247-26").flags == ()
    assert screen("cartão 4111 1111 1111 1112").flags == ()


@pytest.mark.parametrize("text", [
    "Atendido em 12/03/2024 às 14:30, protocolo 2024/000123-4.",
    "Paguei R$ 1.234,56 de taxa, CEP 01310-100.",
    "Processo 0001234-56.2024.8.26.0100, liguei no 0800 722 0101.",
    "Protocolo 6133334444 recebido.",
])
def test_ordinary_numbers_are_not_personal_data(text: str) -> None:
    assert screen(text).flags == ()
    assert screen(text).redacted == text


def test_every_kind_of_personal_data_has_its_flag_and_placeholder() -> None:
    text = ("CPF 529.982.247-25, CNPJ 11.222.333/0001-81, fone (11) 98765-4321, "
            "email ana@example.com, cartão 5555 5555 5555 4444")
    result = screen(text)
    assert result.flags == ("cpf", "cnpj", "phone", "email", "card")
    assert result.redacted == ("CPF [CPF], CNPJ [CNPJ], fone [telefone], email [e-mail], "
                               "cartão [cartão]")


@pytest.mark.parametrize("text", ["que MERDA", "mérda", "m3rd4", "meeeerda", "m.e.r.d.a",
                                  "P0RR@", "c@r@lh0", "1d10t4", "$afado"])
def test_offensive_words_survive_disguises(text: str) -> None:
    assert screen(text).flags == ("offensive",)
    assert screen(text).redacted == text  # offensive words are moderated, not redacted


@pytest.mark.parametrize("text", ["houve um arrombamento", "o curso de cultura",
                                  "computador e disputa", "documento acumulado"])
def test_words_that_merely_contain_an_offensive_one_are_clean(text: str) -> None:
    assert screen(text).flags == ()


def test_lexicon_is_data_with_prefixes() -> None:
    lexicon = Lexicon.of(["# comment", "", "abob*", "chato"])
    assert lexicon.matches("Que ABOBRINHA") and lexicon.matches("chaaato")
    assert not lexicon.matches("chatos demais")
    assert "merda" in offensive_words().prefixes or offensive_words().matches("merda")
    assert normalise("Ação 4V3NÇ@") == "acao avenca"
