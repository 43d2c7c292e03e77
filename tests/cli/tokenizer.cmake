# Command-line tests of `hanvit tokenizer` (train, encode, decode): outputs, determinism across runs, and the
# one-line error with exit status 1 for each bad input.
set(tok_data ${CMAKE_CURRENT_SOURCE_DIR}/data/tokenizer)
set(tok_work ${CMAKE_CURRENT_BINARY_DIR}/cli_tokenizer)

# Runs `hanvit ARGS...` in the shell, expecting exit status 1 and a message matching REGEX.
function(hanvit_tokenizer_cli_fails name regex)
  add_test(NAME cli/tokenizer-${name}
           COMMAND sh -c "out=$(\"$0\" \"$@\" 2>&1); echo \"exit $?: $out\"" $<TARGET_FILE:hanvit> ${ARGN})
  set_tests_properties(cli/tokenizer-${name} PROPERTIES PASS_REGULAR_EXPRESSION "exit 1: ${regex}")
endfunction()

# Two trainings with the same seed write the same bytes; a third into the same folder is refused,
# then accepted with --overwrite; no temp folder is left beside the output.
add_test(NAME cli/tokenizer-train
         COMMAND sh -c "set -e; w=$1; rm -rf $w; mkdir -p $w
                        \"$0\" tokenizer train --input $2 --vocab-size 900 --out $w/a --seed 3
                        \"$0\" tokenizer train --input $2 --vocab-size 900 --out $w/b --seed 3 > /dev/null
                        cmp $w/a/tokenizer.model $w/b/tokenizer.model
                        test $(wc -l < $w/a/tokenizer.vocab) -eq 900
                        if \"$0\" tokenizer train --input $2 --vocab-size 900 --out $w/a 2> $w/err; then exit 1; fi
                        grep -q 'folder exists and is not empty' $w/err
                        \"$0\" tokenizer train --input $2 --vocab-size 900 --out $w/a --overwrite > /dev/null
                        ls $w | tr '\\n' ' '; echo"
                 $<TARGET_FILE:hanvit> ${tok_work}/train ${tok_data}/corpus.txt)
set_tests_properties(cli/tokenizer-train PROPERTIES PASS_REGULAR_EXPRESSION
  "training text: 451 records read, 0 skipped\nwrote [^\n]*/a/tokenizer.model \\(900 pieces\\)\na b err \n$")

# JSONL input (caption / VQA fields) and a bad line skipped with --skip-bad.
add_test(NAME cli/tokenizer-train-jsonl-skip-bad
         COMMAND sh -c "set -e; w=$1; rm -rf $w; mkdir -p $w
                        printf '{\"caption\": \"빨간 원\"}\\n{\"question\": \"몇 개?\", \"answers\": [\"두 개\"]}\\n' > $w/a.jsonl
                        printf '좋은 줄\\n\\377 나쁜 줄\\n' > $w/bad.txt
                        \"$0\" tokenizer train --input $2 $w/a.jsonl $w/bad.txt --vocab-size 900 --out $w/out --skip-bad"
                 $<TARGET_FILE:hanvit> ${tok_work}/jsonl ${tok_data}/corpus.txt)
set_tests_properties(cli/tokenizer-train-jsonl-skip-bad PROPERTIES PASS_REGULAR_EXPRESSION
  "training text: 455 records read, 1 skipped, first: [^\n]*/bad.txt:2: invalid UTF-8 at byte 0\nwrote ")

# A bad line stops the run by default, naming file:line; nothing is written.
add_test(NAME cli/tokenizer-train-bad-utf8
         COMMAND sh -c "w=$1; rm -rf $w; mkdir -p $w; printf '좋은 줄\\n나쁜 \\303\\050 줄\\n' > $w/bad.txt
                        out=$(\"$0\" tokenizer train --input $w/bad.txt --vocab-size 300 --out $w/out 2>&1)
                        echo \"exit $?: $out\"; ls $w"
                 $<TARGET_FILE:hanvit> ${tok_work}/bad)
set_tests_properties(cli/tokenizer-train-bad-utf8 PROPERTIES PASS_REGULAR_EXPRESSION
  "exit 1: hanvit: error: [^\n]*/bad.txt:2: invalid UTF-8 at byte 7\nbad.txt\n$")

hanvit_tokenizer_cli_fails(train-vocab-too-large
  "hanvit: error: vocab size 5000 is too large for the training text \\(it gives at most [0-9]+ pieces\\): lower the vocab size to [0-9]+ or less"
  tokenizer train --input ${tok_data}/corpus.txt --vocab-size 5000 --out ${tok_work}/too_large)
hanvit_tokenizer_cli_fails(train-vocab-too-small
  "hanvit: error: vocab size 300 is too small: .* need [0-9]+ pieces; raise the vocab size or lower the character coverage"
  tokenizer train --input ${tok_data}/corpus.txt --vocab-size 300 --out ${tok_work}/too_small)
add_test(NAME cli/tokenizer-train-missing-input
         COMMAND hanvit tokenizer train --input ${tok_work}/absent.txt --vocab-size 900 --out ${tok_work}/absent)
set_tests_properties(cli/tokenizer-train-missing-input PROPERTIES WILL_FAIL TRUE)
add_test(NAME cli/tokenizer-train-bad-model-type
         COMMAND hanvit tokenizer train --input ${tok_data}/corpus.txt --vocab-size 900 --out ${tok_work}/mt --model-type word)
set_tests_properties(cli/tokenizer-train-bad-model-type PROPERTIES WILL_FAIL TRUE)

# encode / decode with the committed fixture model (ids as the Python sentencepiece package gives them).
add_test(NAME cli/tokenizer-encode COMMAND hanvit tokenizer encode --model ${tok_data}/fixture.model "빨간 원이 왼쪽 위에 있다.")
set_tests_properties(cli/tokenizer-encode PROPERTIES PASS_REGULAR_EXPRESSION "^284 264 300 275 276 265 266 269 267\n$")
add_test(NAME cli/tokenizer-encode-pieces
         COMMAND hanvit tokenizer encode --model ${tok_data}/fixture.model --pieces "사진<image> 🦄")
set_tests_properties(cli/tokenizer-encode-pieces PROPERTIES PASS_REGULAR_EXPRESSION
  "^▁사진 <0x3C> <0x69> <0x6D> <0x61> <0x67> <0x65> <0x3E> ▁ <0xF0> <0x9F> <0xA6> <0x84>\n$")
add_test(NAME cli/tokenizer-encode-parse-special
         COMMAND hanvit tokenizer encode --model ${tok_data}/fixture.model --pieces --parse-special "사진<image>")
set_tests_properties(cli/tokenizer-encode-parse-special PROPERTIES PASS_REGULAR_EXPRESSION "^▁사진 <image>\n$")
# A Hugging Face tokenizer.json folder (LLaMA-3 style byte-level BPE with added special tokens).
add_test(NAME cli/tokenizer-encode-tokenizer-json
         COMMAND hanvit tokenizer encode --model ${tok_data}/bpe_llama3 --parse-special "<|start_header_id|>빨간 원")
set_tests_properties(cli/tokenizer-encode-tokenizer-json PROPERTIES PASS_REGULAR_EXPRESSION "^1051 364 344\n$")
add_test(NAME cli/tokenizer-decode-tokenizer-json
         COMMAND hanvit tokenizer decode --model ${tok_data}/bpe_llama3 --keep-special 1049 1051)
set_tests_properties(cli/tokenizer-decode-tokenizer-json PROPERTIES PASS_REGULAR_EXPRESSION
  "^<\\|begin_of_text\\|><\\|start_header_id\\|>\n$")
add_test(NAME cli/tokenizer-decode COMMAND hanvit tokenizer decode --model ${tok_data}/fixture.model 2 4 284 264 300 275 276 265 266 269 267 3)
set_tests_properties(cli/tokenizer-decode PROPERTIES PASS_REGULAR_EXPRESSION "^빨간 원이 왼쪽 위에 있다.\n$")
add_test(NAME cli/tokenizer-decode-keep-special
         COMMAND hanvit tokenizer decode --model ${tok_data}/fixture.model --keep-special 2 4 284 264 300 275 276 265 266 269 267 3)
set_tests_properties(cli/tokenizer-decode-keep-special PROPERTIES PASS_REGULAR_EXPRESSION
  "^<s><image> 빨간 원이 왼쪽 위에 있다.</s>\n$")

hanvit_tokenizer_cli_fails(encode-missing-model "hanvit: error: [^\n]*/absent.model: no such tokenizer model"
  tokenizer encode --model ${tok_work}/absent.model "가")
hanvit_tokenizer_cli_fails(encode-corrupt-model "hanvit: error: [^\n]*/corpus.txt: not a valid SentencePiece model \\(not a serialized ModelProto\\)\n$"
  tokenizer encode --model ${tok_data}/corpus.txt "가")
add_test(NAME cli/tokenizer-encode-invalid-utf8
         COMMAND sh -c "out=$(\"$0\" tokenizer encode --model $1 \"$(printf '가\\377')\" 2>&1); echo \"exit $?: $out\""
                 $<TARGET_FILE:hanvit> ${tok_data}/fixture.model)
set_tests_properties(cli/tokenizer-encode-invalid-utf8 PROPERTIES PASS_REGULAR_EXPRESSION
  "exit 1: hanvit: error: text: invalid UTF-8 at byte 3\n$")
hanvit_tokenizer_cli_fails(decode-out-of-range "hanvit: error: token id 900 is out of range \\[0, 900\\)"
  tokenizer decode --model ${tok_data}/fixture.model 5 900)
