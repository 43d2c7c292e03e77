#!/usr/bin/env python3
"""Writes tests/data/metrics/: caption and VQA prediction/reference JSONL files and expected.json
with the scores of the reference implementations (sacrebleu corpus_bleu, pycocoevalcap Cider and
Rouge, and a transcription of the official VQAv2 accuracy rule), for tests/datasets/test_metrics*.cpp.

Run with the venv of scripts/make_venv.sh:  $(scripts/make_venv.sh) scripts/make_metrics_fixture.py
"""
import json
import re
from pathlib import Path

import sacrebleu
from pycocoevalcap.cider.cider import Cider
from pycocoevalcap.rouge.rouge import Rouge

OUT = Path(__file__).resolve().parent.parent / "tests" / "data" / "metrics"

# (image, prediction, references): exact matches, partial overlaps, no overlap, short and long
# captions, repeated words, one-word predictions, odd whitespace (tab, double space, U+3000).
CAPTIONS = [
    ("images/0001.png", "빨간 원이 왼쪽 위에 있다.", ["빨간 원이 왼쪽 위에 있다."]),
    ("images/0002.png", "파란 하트가 위에 있고, 검은 사각형이 가운데에 있다.",
     ["파란 하트가 위에 있고, 검은 사각형이 가운데에 있다.", "위에 파란 하트, 가운데에 검은 사각형이 있다."]),
    ("images/0003.png", "노란 별이 오른쪽에 있다.", ["노란 별이 왼쪽에 있다.", "왼쪽에 노란 별이 있다.", "노란색 별 하나가 왼쪽에 있다."]),
    ("images/0004.png", "고양이가 소파 위에서 자고 있다.", ["초록 삼각형이 아래에 있다."]),
    ("images/0005.png", "원", ["보라 원이 가운데에 있다.", "가운데에 보라색 원이 하나 있다."]),
    ("images/0006.png", "개", ["강아지 한 마리가 잔디밭을 뛰어다닌다.", "잔디 위를 달리는 개", "개가 뛰고 있다.", "풀밭에서 노는 갈색 개", "개 한 마리"]),
    ("images/0007.png", "빨간 빨간 빨간 빨간 원이 있다.", ["빨간 원이 있다.", "빨간 원 하나가 있다."]),
    ("images/0008.png", "두 사람이 해변에서 공을 가지고 놀고 있고, 뒤에는 파도가 치고 있으며, 하늘에는 갈매기가 날고 있다.",
     ["해변에서 두 사람이 공놀이를 하고 있다.", "바닷가에서 공을 던지는 두 사람", "두 사람이 해변에서 공을 가지고 놀고 있다."]),
    ("images/0009.png", "주황 마름모가 오른쪽 아래에 있다.", ["주황 마름모가 오른쪽 아래에 있다.", "오른쪽 아래에 주황색 마름모가 있다.", "주황 마름모가 오른쪽 아래에 있다."]),
    ("images/0010.png", "검은 사각형이  가운데에\t있다.", ["검은 사각형이 가운데에 있다.", "가운데에 검은 네모가 있다."]),
    ("images/0011.png", "하얀 접시 위에 김밥이 놓여 있다.", ["접시 위에 김밥이 있다.", "하얀 접시에 담긴 김밥", "김밥 여러 줄이 접시 위에 놓여 있다.", "식탁 위의 김밥 한 접시"]),
    ("images/0012.png", "자전거를 탄 남자가 길을 달린다.", ["남자가 자전거를 타고 길을 달리고 있다.", "길 위에서 자전거를 타는 남자"]),
    ("images/0013.png", "초록 삼각형이 왼쪽 아래에 있고, 파란 원이 오른쪽 위에 있다.",
     ["초록 삼각형이 왼쪽 아래에 있고, 파란 원이 오른쪽 위에 있다."]),
    ("images/0014.png", "있다.", ["빨간 하트가 위에 있다.", "위쪽에 빨간 하트가 있다."]),
    ("images/0015.png", "보라 별이 가운데에 있다.", ["보라 별이 가운데에 있다.", "가운데에 보라색 별이 있다.", "보라 별 하나가 한가운데에 있다."]),
    ("images/0016.png", "빨간 원이 왼쪽에 있고, 빨간 원이 오른쪽에 있다.", ["빨간 원이 왼쪽에 있고, 빨간 원이 오른쪽에 있다.", "빨간 원 두 개가 양쪽에 있다."]),
    ("images/0017.png", "버스가 정류장에 서 있다.", ["정류장에 버스가 서 있다.", "파란 버스가 정류장에 정차해 있다.", "버스 정류장의 버스"]),
    ("images/0018.png", "눈 덮인 산", ["눈 덮인 산봉우리", "하얀 눈으로 덮인 높은 산", "겨울 산의 풍경", "눈이 쌓인 산"]),
    ("images/0019.png", "아이가\u3000우산을 들고 비 오는 거리를 걷는다.", ["우산을 든 아이가 비 오는 거리를 걷고 있다.", "비 오는 날 우산을 쓴 아이"]),
    ("images/0020.png", "노란 하트가 아래에 있다.", ["노란 하트가 아래에 있다."]),
    ("images/0021.png", "책상 위에 노트북과 커피잔이 있다.", ["노트북과 커피 한 잔이 책상 위에 있다.", "책상 위의 노트북", "커피잔 옆에 노트북이 놓여 있다."]),
    ("images/0022.png", "a red circle", ["빨간 원이 왼쪽 위에 있다."]),
    ("images/0023.png", "검은 별이 오른쪽 위에 있고, 주황 원이 왼쪽에 있고, 초록 하트가 아래에 있다.",
     ["검은 별이 오른쪽 위에 있고, 주황 원이 왼쪽에 있고, 초록 하트가 아래에 있다.", "세 도형이 있다."]),
    ("images/0024.png", "고양이 고양이", ["고양이 한 마리가 창가에 앉아 있다.", "창밖을 보는 고양이"]),
    ("images/0025.png", "파란 사각형이 왼쪽 위에 있다.", ["파란 사각형이 오른쪽 아래에 있다.", "오른쪽 아래의 파란 네모"]),
    ("images/0026.png", "서울의 밤거리에 불빛이 가득하다.", ["불빛이 가득한 서울의 밤거리", "밤의 서울 거리", "네온사인이 빛나는 도시의 밤", "서울 시내의 야경", "밤거리에 사람들이 걷고 있다."]),
    ("images/0027.png", "두 마리의 개가 공원에서 뛰어논다.", ["공원에서 뛰어노는 개 두 마리", "두 마리의 개가 잔디밭에서 놀고 있다."]),
    ("images/0028.png", "빨간색", ["빨간 원이 가운데에 있다."]),
    ("images/0029.png", "식탁 위에 사과 세 개와 바나나 두 개가 있다.", ["식탁 위에 사과 세 개와 바나나 두 개가 있다.", "과일이 놓인 식탁"]),
    ("images/0030.png", "주황 삼각형이 위에 있다.", ["주황 삼각형이 위에 있다.", "위에 주황색 삼각형이 있다.", "주황 삼각형 하나가 위쪽에 있다.", "위쪽 가운데에 주황 삼각형", "주황 삼각형이 위에 있다."]),
]

# (image, question, prediction, answers): one answer (exact match after normalisation) or ten
# human answers; English answers exercise the normalisation (number words, articles, punctuation,
# digit-comma-digit, contractions, periods), Korean ones pass through it.
VQA = [
    ("images/0001.png", "원은 무슨 색인가요?", "빨간색", ["빨간색"]),
    ("images/0002.png", "도형은 모두 몇 개인가요?", "두 개", ["두 개"]),
    ("images/0003.png", "별이 있나요?", "네.", ["네"]),
    ("images/0004.png", "가운데에 있는 도형은 무엇인가요?", "사각형", ["원"]),
    ("images/0005.png", "보라 원은 어디에 있나요?", "  가운데 ", ["가운데"]),
    ("images/0006.png", "How many dogs are there?", "two", ["2"] * 10),
    ("images/0007.png", "How many circles?", "4", ["four", "4", "4", "three", "4", "four", "5", "4", "4", "4"]),
    ("images/0008.png", "What is on the table?", "a banana", ["banana", "bananas", "banana", "fruit", "bananas",
                                                              "banana", "banana", "fruit", "bananas", "the banana"]),
    ("images/0009.png", "Is the man happy?", "Yes.", ["yes", "yes", "yes", "no", "yes", "yes", "yes", "yes", "yes", "yes"]),
    ("images/0010.png", "What does the sign say?", "dont walk", ["don't walk", "dont walk", "do not walk", "don't walk",
                                                                 "stop", "don't walk", "walk", "dont walk", "don't walk", "no walking"]),
    ("images/0011.png", "What is the price?", "10,000", ["10000", "10,000", "10000", "10,000 won", "10000", "10000",
                                                         "10,000", "10 000", "ten thousand", "10000"]),
    ("images/0012.png", "What is he wearing?", "t-shirt", ["t shirt", "t-shirt", "tshirt", "shirt", "t shirt",
                                                           "t-shirt", "shirt", "t shirt", "tee", "t-shirt"]),
    ("images/0013.png", "What animal is this?", "The Cat!", ["cat", "cat", "kitten", "cat", "cat", "cat", "cat",
                                                             "kitty", "cat", "cat"]),
    ("images/0014.png", "What color is the bus?", "red", ["blue", "blue", "blue", "blue", "red", "blue", "blue",
                                                          "blue", "blue", "blue"]),
    ("images/0015.png", "What color is the bus?", "red", ["blue", "red", "blue", "blue", "red", "blue", "blue",
                                                          "blue", "blue", "blue"]),
    ("images/0016.png", "What sport is this?", "tennis", ["baseball"] * 10),
    ("images/0017.png", "Where is the cat?", "on the couch", ["couch", "on couch", "on the couch", "sofa", "on couch",
                                                              "couch", "on the sofa", "on couch", "couch", "on couch"]),
    ("images/0018.png", "How many people?", "none", ["0", "0", "none", "zero", "0", "1", "0", "0", "none", "0"]),
    ("images/0019.png", "What time is it?", "3 oclock", ["3:00", "3 o'clock", "3 oclock", "3:00", "afternoon",
                                                         "3 o'clock", "3", "3:00", "3 o'clock", "3:00"]),
    ("images/0020.png", "What is the man holding?", "umbrella (black)", ["umbrella", "black umbrella", "umbrella",
                                                                         "umbrella", "umbrella black", "umbrella",
                                                                         "umbrella", "black umbrella", "umbrella", "umbrella"]),
    ("images/0021.png", "Is it raining?", "No", ["no"]),
    ("images/0022.png", "도형은 모두 몇 개인가요?", "세 개", ["세 개", "세 개", "3개", "세 개", "셋", "세 개", "3", "세 개",
                                                      "세 개", "세 개"]),
    ("images/0023.png", "하트는 무슨 색인가요?", "초록색!", ["초록색", "초록색", "녹색", "초록색", "초록", "초록색",
                                                     "초록색", "연두색", "초록색", "초록색"]),
    ("images/0024.png", "What is the website?", "www.example.com", ["www.example.com", "example.com", "www.example.com",
                                                                    "unknown", "www.example.com", "example", "www.example.com",
                                                                    "www.example.com", "example.com", "www.example.com"]),
    ("images/0025.png", "What number is on the shirt?", "1.5", ["1.5", "15", "1.5", "1.5", "one", "1.5", "15", "1.5",
                                                                "1.5", "1.5"]),
    ("images/0026.png", "What brand?", "nike; adidas", ["nike", "nike", "adidas", "nike adidas", "nike", "nike",
                                                        "nike", "nike", "adidas", "nike"]),
    ("images/0027.png", "Who is it?", "hes a chef", ["chef", "chef", "he's chef", "cook", "chef", "chef", "chef",
                                                     "he's chef", "chef", "chef"]),
    ("images/0028.png", "What is written?", "stop/go", ["stop go", "stop", "stop/go", "stop go", "go", "stop go",
                                                        "stop", "stop go", "stop-go", "stop go"]),
    ("images/0029.png", "마름모는 어디에 있나요?", "오른쪽 아래", ["오른쪽 아래"]),
    ("images/0030.png", "빨간 하트가 있나요?", "아니요", ["네"]),
]


# ---- The official VQAv2 evaluation rule (vqaEval.py), transcribed ----------------------------
CONTRACTIONS = {
    "aint": "ain't", "arent": "aren't", "cant": "can't", "couldve": "could've", "couldnt": "couldn't",
    "couldn'tve": "couldn't've", "couldnt've": "couldn't've", "didnt": "didn't", "doesnt": "doesn't",
    "dont": "don't", "hadnt": "hadn't", "hadnt've": "hadn't've", "hadn'tve": "hadn't've", "hasnt": "hasn't",
    "havent": "haven't", "hed": "he'd", "hed've": "he'd've", "he'dve": "he'd've", "hes": "he's", "howd": "how'd",
    "howll": "how'll", "hows": "how's", "Id've": "I'd've", "I'dve": "I'd've", "Im": "I'm", "Ive": "I've",
    "isnt": "isn't", "itd": "it'd", "itd've": "it'd've", "it'dve": "it'd've", "itll": "it'll", "let's": "let's",
    "maam": "ma'am", "mightnt": "mightn't", "mightnt've": "mightn't've", "mightn'tve": "mightn't've",
    "mightve": "might've", "mustnt": "mustn't", "mustve": "must've", "neednt": "needn't", "notve": "not've",
    "oclock": "o'clock", "oughtnt": "oughtn't", "ow's'at": "'ow's'at", "'ows'at": "'ow's'at", "'ow'sat": "'ow's'at",
    "shant": "shan't", "shed've": "she'd've", "she'dve": "she'd've", "she's": "she's", "shouldve": "should've",
    "shouldnt": "shouldn't", "shouldnt've": "shouldn't've", "shouldn'tve": "shouldn't've",
    "somebody'd": "somebodyd", "somebodyd've": "somebody'd've", "somebody'dve": "somebody'd've",
    "somebodyll": "somebody'll", "somebodys": "somebody's", "someoned": "someone'd", "someoned've": "someone'd've",
    "someone'dve": "someone'd've", "someonell": "someone'll", "someones": "someone's", "somethingd": "something'd",
    "somethingd've": "something'd've", "something'dve": "something'd've", "somethingll": "something'll",
    "thats": "that's", "thered": "there'd", "thered've": "there'd've", "there'dve": "there'd've",
    "therere": "there're", "theres": "there's", "theyd": "they'd", "theyd've": "they'd've", "they'dve": "they'd've",
    "theyll": "they'll", "theyre": "they're", "theyve": "they've", "twas": "'twas", "wasnt": "wasn't",
    "wed've": "we'd've", "we'dve": "we'd've", "weve": "we've", "werent": "weren't", "whatll": "what'll",
    "whatre": "what're", "whats": "what's", "whatve": "what've", "whens": "when's", "whered": "where'd",
    "wheres": "where's", "whereve": "where've", "whod": "who'd", "whod've": "who'd've", "who'dve": "who'd've",
    "wholl": "who'll", "whos": "who's", "whove": "who've", "whyll": "why'll", "whyre": "why're", "whys": "why's",
    "wont": "won't", "wouldve": "would've", "wouldnt": "wouldn't", "wouldnt've": "wouldn't've",
    "wouldn'tve": "wouldn't've", "yall": "y'all", "yall'll": "y'all'll", "y'allll": "y'all'll",
    "yall'd've": "y'all'd've", "y'alld've": "y'all'd've", "y'all'dve": "y'all'd've", "youd": "you'd",
    "youd've": "you'd've", "you'dve": "you'd've", "youll": "you'll", "youre": "you're", "youve": "you've",
}
MANUAL_MAP = {"none": "0", "zero": "0", "one": "1", "two": "2", "three": "3", "four": "4", "five": "5",
              "six": "6", "seven": "7", "eight": "8", "nine": "9", "ten": "10"}
ARTICLES = ["a", "an", "the"]
PERIOD_STRIP = re.compile(r"(?!<=\d)(\.)(?!\d)")
COMMA_STRIP = re.compile(r"(\d)(\,)(\d)")
PUNCT = [";", r"/", "[", "]", '"', "{", "}", "(", ")", "=", "+", "\\", "_", "-", ">", "<", "@", "`", ",", "?", "!"]


def process_punctuation(in_text):
    out_text = in_text
    for p in PUNCT:
        if (p + " " in in_text or " " + p in in_text) or (re.search(COMMA_STRIP, in_text) is not None):
            out_text = out_text.replace(p, "")
        else:
            out_text = out_text.replace(p, " ")
    return PERIOD_STRIP.sub("", out_text, re.UNICODE)  # as the official script: re.UNICODE lands in `count`


def process_digit_article(in_text):
    out = []
    for word in in_text.lower().split():
        word = MANUAL_MAP.get(word, word)
        if word not in ARTICLES:
            out.append(word)
    return " ".join(CONTRACTIONS.get(word, word) for word in out)


def normalize(answer):
    answer = answer.replace("\n", " ").replace("\t", " ").strip()
    return process_digit_article(process_punctuation(answer))


def vqa_accuracy(prediction, answers):
    pred = normalize(prediction)
    gts = [normalize(a) for a in answers]
    if len(gts) == 1:
        return 1.0 if gts[0] == pred else 0.0
    accs = []
    for i in range(len(gts)):
        others = [g for j, g in enumerate(gts) if j != i]
        accs.append(min(1, float(len([g for g in others if g == pred])) / 3))
    return float(sum(accs)) / len(accs)


def exact_match(prediction, answers):
    return 1.0 if any(prediction.strip() == a.strip() for a in answers) else 0.0


# ---- Caption metrics ------------------------------------------------------------------------
def tokens(text, char):
    return [c for c in text if not c.isspace()] if char else text.split()


def caption_scores(char):
    hyps = [" ".join(tokens(p, char)) for _, p, _ in CAPTIONS]
    refs = [[" ".join(tokens(r, char)) for r in rs] for _, _, rs in CAPTIONS]
    max_refs = max(len(r) for r in refs)
    streams = [[r[k] if k < len(r) else None for r in refs] for k in range(max_refs)]
    bleu = sacrebleu.corpus_bleu(hyps, streams, tokenize="none").score
    if char:  # sacrebleu's own character tokenizer on the raw texts must give the same score
        raw_streams = [[rs[k] if k < len(rs) else None for _, _, rs in CAPTIONS] for k in range(max_refs)]
        raw = sacrebleu.corpus_bleu([p for _, p, _ in CAPTIONS], raw_streams, tokenize="char").score
        assert abs(raw - bleu) < 1e-12, (raw, bleu)
    per_bleu = [sacrebleu.corpus_bleu([h], [[r] for r in rs], tokenize="none").score for h, rs in zip(hyps, refs)]
    gts = {str(i): rs for i, rs in enumerate(refs)}
    res = {str(i): [h] for i, h in enumerate(hyps)}
    cider, per_cider = Cider().compute_score(gts, res)
    rouge, per_rouge = Rouge().compute_score(gts, res)
    return {"bleu4": bleu, "cider_d": float(cider), "rouge_l": float(rouge),
            "per_segment": {"bleu4": per_bleu, "cider_d": [float(x) for x in per_cider],
                            "rouge_l": [float(x) for x in per_rouge]}}


def write_jsonl(path, records):
    with open(path, "w", encoding="utf-8") as f:
        for record in records:
            f.write(json.dumps(record, ensure_ascii=False) + "\n")


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    write_jsonl(OUT / "caption_pred.jsonl", [{"image": img, "caption": p} for img, p, _ in CAPTIONS])
    caption_refs = []
    for i, (img, _, rs) in enumerate(CAPTIONS):  # both reference forms: a list, and one line per caption
        caption_refs += [{"image": img, "captions": rs}] if i % 2 == 0 else [{"image": img, "caption": r} for r in rs]
    write_jsonl(OUT / "caption_ref.jsonl", caption_refs)
    write_jsonl(OUT / "vqa_pred.jsonl", [{"image": img, "question": q, "answer": p} for img, q, p, _ in VQA])
    write_jsonl(OUT / "vqa_ref.jsonl", [{"image": img, "question": q, **({"answer": a[0]} if len(a) == 1 else {"answers": a})}
                                        for img, q, _, a in VQA])

    questions = [{"prediction": p, "answers": a, "normalized": normalize(p), "vqa_accuracy": vqa_accuracy(p, a),
                  "exact_match": exact_match(p, a)} for _, _, p, a in VQA]
    expected = {
        "generator": f"scripts/make_metrics_fixture.py (sacrebleu {sacrebleu.__version__}, pycocoevalcap Cider/Rouge)",
        "caption": {
            "segments": [{"prediction": p, "references": rs} for _, p, rs in CAPTIONS],
            "whitespace": caption_scores(char=False),
            "char": caption_scores(char=True),
        },
        "vqa": {
            "questions": questions,
            "vqa_accuracy": 100.0 * sum(q["vqa_accuracy"] for q in questions) / len(questions),
            "exact_match": 100.0 * sum(q["exact_match"] for q in questions) / len(questions),
        },
    }
    with open(OUT / "expected.json", "w", encoding="utf-8") as f:
        json.dump(expected, f, ensure_ascii=False, indent=1)
        f.write("\n")
    print(json.dumps({k: v for k, v in expected["caption"]["whitespace"].items() if k != "per_segment"}),
          json.dumps({k: v for k, v in expected["caption"]["char"].items() if k != "per_segment"}),
          expected["vqa"]["vqa_accuracy"], expected["vqa"]["exact_match"])


if __name__ == "__main__":
    main()
