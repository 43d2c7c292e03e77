"""Writes tests/data/tokenizer/fixture_ids.json: what the Python sentencepiece package gives with the committed
tests/data/tokenizer/fixture.model: the piece of every id, and the ids and decoded text of every line of the
committed corpus plus a few extra texts (NFD jamo, emoji outside the corpus, special-token spellings, odd
whitespace). "decoded" is written only where it differs from the text (NFKC normalisation).

Nothing is trained here. fixture.model itself was trained once with Hanvit's CLI and committed:
  hanvit tokenizer train --input tests/data/tokenizer/corpus.txt --vocab-size 900 --out /tmp/fixture --seed 0
  cp /tmp/fixture/tokenizer.model tests/data/tokenizer/fixture.model

Usage: $(scripts/make_venv.sh) scripts/make_tokenizer_fixture.py
"""

import json
import pathlib
import unicodedata

import sentencepiece

DATA = pathlib.Path(__file__).resolve().parent.parent / "tests" / "data" / "tokenizer"

EXTRA = [
    unicodedata.normalize("NFD", "빨간 원이 왼쪽 위에 있다."),
    "유니콘 🦄 과 게 🦀 는 말뭉치에 없다",
    "<|system|>너는 친절한 도우미다.<|user|><image>사진을 설명해 줘.<|assistant|>파란 하트가 위에 있다.",
    "<s>이건 </s> 글자 그대로 <pad> <unk>",
    "  앞뒤  공백과   겹친 공백  ",
    "탭\t문자와 줄\u2028구분",
    "전각 ＡＢＣ１２３ 와 반각 ｱｲｳ",
    "龍과 鳳, 𝔸𝔹 그리고 ①②③",
]


def main():
    processor = sentencepiece.SentencePieceProcessor(model_file=str(DATA / "fixture.model"))
    texts = (DATA / "corpus.txt").read_text(encoding="utf-8").splitlines() + EXTRA
    cases = []
    for text in texts:
        ids = processor.encode(text)
        case = {"text": text, "ids": ids}
        if processor.decode(ids) != text:
            case["decoded"] = processor.decode(ids)
        cases.append(case)
    fixture = {
        "generator": f"sentencepiece {sentencepiece.__version__} (Python)",
        "model": "fixture.model",
        "vocab_size": processor.get_piece_size(),
        "pieces": [processor.id_to_piece(i) for i in range(processor.get_piece_size())],
        "cases": cases,
    }
    out = DATA / "fixture_ids.json"
    # One case a line, so that a diff of the fixture shows which texts changed.
    compact = {"ensure_ascii": False, "separators": (",", ":")}
    head = json.dumps({k: v for k, v in fixture.items() if k != "cases"}, **compact)[:-1]
    lines = ",\n".join(json.dumps(case, **compact) for case in cases)
    out.write_text(head + ',"cases":[\n' + lines + "\n]}\n", encoding="utf-8")
    print(f"wrote {out} ({len(cases)} texts)")


if __name__ == "__main__":
    main()
