"""Trains two tiny byte-level BPE tokenizers with the Hugging Face `tokenizers` library and writes what it
encodes and decodes, for the tests of Hanvit's tokenizer.json reader:
  tests/data/tokenizer/bpe_gpt2/   GPT-2 style: ByteLevel pre-tokenizer (its own regex), ByteLevel decoder,
                                   "<|endoftext|>", a non-special added token, merges in the "a b" string form;
  tests/data/tokenizer/bpe_llama3/ LLaMA-3 style: NFC normalizer, Split with the cl100k regex +
                                   ByteLevel(use_regex=False), list-form merges, ignore_merges,
                                   TemplateProcessing adding "<|begin_of_text|>", several added special tokens;
  tests/data/tokenizer/bpe_kogpt2/ KoGPT2 style: NFKC, Metaspace "▁" pre-tokenizer and decoder (the older
                                   add_prefix_space form), <unk> for characters outside the vocabulary,
                                   specials </s> <usr> <pad> <sys> <unk> <mask> first.
Each folder gets tokenizer.json, tokenizer_config.json (checked to load with transformers' AutoTokenizer) and
cases.json: per text the ids with specials parsed (add_special_tokens false and true), the ids with specials
read as plain text (encode_special_tokens), and the decoded text with specials skipped and kept.
tests/data/tokenizer/bpe_units.json holds what the pieces of that pipeline give on their own: the library's
Split pre-tokenizer with the GPT-2 and the cl100k regex, Python's unicodedata NFC/NFD/NFKC/NFKD, and the
KoGPT2 style with Metaspace's prepend_scheme "first".

Usage: .venv-data/bin/python scripts/make_bpe_tokenizer_fixture.py
"""

import json
import pathlib
import unicodedata

import tokenizers
import transformers
from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors
from tokenizers.trainers import BpeTrainer

DATA = pathlib.Path(__file__).resolve().parent.parent / "tests" / "data" / "tokenizer"
CL100K = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*"
          r"|\s*[\r\n]+|\s+(?!\S)|\s+")

ENGLISH = [
    "The quick brown fox jumps over the lazy dog.",
    "I'm sure they'll say it's fine, but we've seen what they'd do. Don't worry; you're right.",
    "A red circle is at the top left, and a blue star is at the bottom right.",
    "In 2024, the model was trained on 1,234,567 images for 12.5 hours.",
    "Shapes: circle, square, triangle, star, heart, diamond. Colors: red, green, blue, purple, orange.",
    "She said \"hello\" -- then (quietly) walked away... WHAT'S THAT? It's 3:45 pm.",
]

NEWS = [
    "서울시는 15일 오전 10시 시청에서 기자회견을 열고 2025년 예산안을 발표했다.",
    "기상청에 따르면 내일은 전국이 대체로 맑겠으나, 강원 산간에는 눈이 5~10cm 내리겠다.",
    "한국은행은 기준금리를 연 3.25%로 동결했다고 밝혔다.",
    "정부는 “국민의 안전이 최우선”이라며 대책을 내놓았다.",
]

EXTRA = [
    "",
    " ",
    "Hello world",
    " Hello world",
    "I'm here, don't go. WE'RE HERE, YOU'LL SEE, IT'S OK. They've said I'd",
    "빨간 원이 왼쪽 위에 있다.",
    unicodedata.normalize("NFD", "빨간 원이 왼쪽 위에 있다."),
    unicodedata.normalize("NFD", "Café résumé naïve"),
    "Café résumé naïve",
    "GPU 4개로 12345678 토큰을 1.5초에 처리했다 (약 8,230,452 tok/s).",
    "이모지 🦄🦀 와 👩‍👩‍👧 가족, 국기 🇰🇷 도 있다 😀!",
    "  앞뒤  공백과   겹친 공백  ",
    "줄\n바꿈과\r\n윈도우 줄바꿈\n\n\n빈 줄, 그리고 \t탭\t\t문자",
    "끝에 공백   ",
    "\n\n",
    "a  b   c    d",
    "전각 ＡＢＣ１２３ 와 반각 ｱｲｳ, 龍과 鳳, 𝔸𝔹 그리고 ①②③",
    "<|endoftext|>첫 문서<|endoftext|>둘째 문서",
    "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\n사진을 설명해 줘.<|eot_id|>",
    "<|start_header_id|>assistant<|end_header_id|>\n\n파란 하트가 위에 있다.<|eot_id|><|end_of_text|>",
    "<|start_header_id|> 공백 <|eot_id|>",
    "가짜 <|not_special|> 토큰과 <|endoftext 반쪽",
    "<image>사진 속 도형은 몇 개인가요?",
    "질문 <sep>답,  <sep> 끝<sep>",
    "x=1; y = x**2 + 3*x - 7 // 주석",
    "Ǆ ǅ ǆ ﬁ ﬀ Å Ω ℃ ㎏ ㈜",
    "ᄀᄁᄂ ᅡᅢ ᆨᆩ 한글 자모",
    "'s 's 'S 'sS 'll'LL",
]


def corpus_lines():
    return (DATA / "corpus.txt").read_text(encoding="utf-8").splitlines()


def train(tokenizer, vocab_size, specials, **options):
    options.setdefault("initial_alphabet", pre_tokenizers.ByteLevel.alphabet())
    trainer = BpeTrainer(vocab_size=vocab_size, special_tokens=specials, min_frequency=2, show_progress=False,
                         **options)
    tokenizer.train_from_iterator(corpus_lines() + ENGLISH + NEWS, trainer=trainer)
    return tokenizer


def gpt2_style():
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    tokenizer.post_processor = processors.ByteLevel(trim_offsets=False)
    train(tokenizer, 1000, ["<|endoftext|>"])
    # A non-special added token with lstrip (matched in text in both modes).
    tokenizer.add_tokens([AddedToken("<sep>", lstrip=True, special=False)])
    config = {"bos_token": "<|endoftext|>", "eos_token": "<|endoftext|>", "unk_token": "<|endoftext|>",
              "model_max_length": 1024, "tokenizer_class": "GPT2Tokenizer"}
    return tokenizer, config


def llama3_style():
    specials = ["<|begin_of_text|>", "<|end_of_text|>", "<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>",
                "<|reserved_special_token_0|>"]
    tokenizer = Tokenizer(models.BPE(ignore_merges=True))
    tokenizer.normalizer = normalizers.NFC()
    tokenizer.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(CL100K), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=True, use_regex=False),
    ])
    tokenizer.decoder = decoders.ByteLevel()
    train(tokenizer, 1500, [])
    # The specials after the learned vocabulary, as in LLaMA-3 (ids 128000+ there).
    tokenizer.add_special_tokens(specials)
    tokenizer.post_processor = processors.Sequence([
        processors.ByteLevel(trim_offsets=False),
        processors.TemplateProcessing(
            single="<|begin_of_text|> $A", pair="<|begin_of_text|> $A <|begin_of_text|>:1 $B:1",
            special_tokens=[("<|begin_of_text|>", tokenizer.token_to_id("<|begin_of_text|>"))]),
    ])
    config = {"bos_token": "<|begin_of_text|>", "eos_token": "<|eot_id|>", "model_max_length": 131072,
              "tokenizer_class": "PreTrainedTokenizerFast"}
    return tokenizer, config


def kogpt2_style():
    tokenizer = Tokenizer(models.BPE(unk_token="<unk>"))
    tokenizer.normalizer = normalizers.NFKC()
    tokenizer.pre_tokenizer = pre_tokenizers.Metaspace()
    tokenizer.decoder = decoders.Metaspace()
    # No byte alphabet: characters that training never saw become <unk>.
    train(tokenizer, 1200, ["</s>", "<usr>", "<pad>", "<sys>", "<unk>", "<mask>"], initial_alphabet=[])
    config = {"bos_token": "</s>", "eos_token": "</s>", "unk_token": "<unk>", "pad_token": "<pad>",
              "mask_token": "<mask>", "tokenizer_class": "PreTrainedTokenizerFast"}
    return tokenizer, config


def cases(tokenizer, texts):
    out = []
    for text in texts:
        tokenizer.encode_special_tokens = False
        ids = tokenizer.encode(text, add_special_tokens=False).ids
        with_template = tokenizer.encode(text, add_special_tokens=True).ids
        tokenizer.encode_special_tokens = True
        literal = tokenizer.encode(text, add_special_tokens=False).ids
        tokenizer.encode_special_tokens = False
        out.append({"text": text, "ids": ids, "ids_with_template": with_template, "ids_literal": literal,
                    "decoded_skip": tokenizer.decode(ids, skip_special_tokens=True),
                    "decoded_keep": tokenizer.decode(ids, skip_special_tokens=False)})
    return out


def write(name, tokenizer, config, legacy_format=False):
    folder = DATA / name
    folder.mkdir(exist_ok=True)
    tokenizer.save(str(folder / "tokenizer.json"))
    if legacy_format:
        # The older forms that published files still use and the library still reads: "a b" merges (GPT-2),
        # Metaspace with add_prefix_space instead of prepend_scheme (KoGPT2).
        saved = json.loads((folder / "tokenizer.json").read_text(encoding="utf-8"))
        saved["model"]["merges"] = [" ".join(pair) for pair in saved["model"]["merges"]]
        for part in ("pre_tokenizer", "decoder"):
            if saved[part]["type"] == "Metaspace":
                saved[part] = {"type": "Metaspace", "replacement": "\u2581", "add_prefix_space": True}
        (folder / "tokenizer.json").write_text(json.dumps(saved, ensure_ascii=False, indent=2), encoding="utf-8")
        tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
    (folder / "tokenizer_config.json").write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
    transformers.AutoTokenizer.from_pretrained(str(folder))  # the folder is one transformers can load
    texts = NEWS + ENGLISH + EXTRA + corpus_lines()[::4]
    fixture = {"generator": f"tokenizers {tokenizers.__version__}, transformers {transformers.__version__}",
               "vocab_size": tokenizer.get_vocab_size(with_added_tokens=True)}
    compact = {"ensure_ascii": False, "separators": (",", ":")}
    head = json.dumps(fixture, **compact)[:-1]
    lines = ",\n".join(json.dumps(case, **compact) for case in cases(tokenizer, texts))
    (folder / "cases.json").write_text(head + ',"cases":[\n' + lines + "\n]}\n", encoding="utf-8")
    print(f"wrote {folder}: vocab {fixture['vocab_size']}, {len(texts)} texts")


def write_units():
    gpt2_regex = r"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"
    splitters = {name: pre_tokenizers.Split(Regex(regex), behavior="isolated", invert=False)
                 for name, regex in (("gpt2", gpt2_regex), ("cl100k", CL100K))}
    texts = NEWS + ENGLISH + EXTRA + ["\u00a0\u3000 넓은\u2003공백\u0085끝 ", "١٢٣٤ ٥ 三四 Ⅻ ½", "it'Sſ 'ſ"]
    splits = [{"text": text, **{name: [piece for piece, _ in splitter.pre_tokenize_str(text)]
                                for name, splitter in splitters.items()}} for text in texts]
    forms = ["NFC", "NFD", "NFKC", "NFKD"]
    normalization_texts = EXTRA + ["\u1e9b\u0323", "a\u0301\u0323\u0302b", "\u0344\u0958\u2126\u212b",
                                   "\u00c5\u0041\u030a\u1100\u1161\u11a8\uac00\u11a8", "\ufb03\u2460\u3380\u1d400"]
    normalization = [{"text": text, **{form: unicodedata.normalize(form, text) for form in forms}}
                     for text in normalization_texts]
    # The KoGPT2 style with Metaspace's newer prepend_scheme "first": only the start of the text gets a "▁".
    saved = json.loads((DATA / "bpe_kogpt2" / "tokenizer.json").read_text(encoding="utf-8"))
    for part in ("pre_tokenizer", "decoder"):
        saved[part] = {"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "first", "split": True}
    first = Tokenizer.from_str(json.dumps(saved))
    metaspace_first = []
    for text in ["한국어 모델", " 앞 공백", "<usr>질문<sys> 답", "질문<usr>답 <unk>", ""]:
        ids = first.encode(text, add_special_tokens=False).ids
        metaspace_first.append({"text": text, "ids": ids, "decoded": first.decode(ids, skip_special_tokens=False)})
    compact = {"ensure_ascii": False, "separators": (",", ":")}
    lines = ",\n".join(json.dumps(item, **compact) for item in splits)
    norm_lines = ",\n".join(json.dumps(item, **compact) for item in normalization)
    out = DATA / "bpe_units.json"
    first_lines = ",\n".join(json.dumps(item, **compact) for item in metaspace_first)
    out.write_text(f'{{"unicode":"{unicodedata.unidata_version}","splits":[\n{lines}\n],"normalization":[\n'
                   f'{norm_lines}\n],"metaspace_first":[\n{first_lines}\n]}}\n', encoding="utf-8")
    print(f"wrote {out}")


def main():
    write("bpe_gpt2", *gpt2_style(), legacy_format=True)
    write("bpe_llama3", *llama3_style())
    write("bpe_kogpt2", *kogpt2_style(), legacy_format=True)
    write_units()


if __name__ == "__main__":
    main()
