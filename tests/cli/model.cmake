# Command-line tests of `hanvit init`, `hanvit caption` and `hanvit vqa` on a tiny model composed from
# fresh configs (CLIP-style 32 px vision, LLaMA-style decoder, gated fusion) with the fixture tokenizer:
# outputs end to end, JSON lines, --input sets, attention maps, and a one-line error for each bad input.
set(model_data ${CMAKE_CURRENT_SOURCE_DIR}/data)
set(model_work ${CMAKE_CURRENT_BINARY_DIR}/cli_model)
set(model_dir ${model_work}/model)
set(model_image ${model_data}/image/rgb_300x199.png)

# Runs `hanvit ARGS...`, expecting exit status 1 and a message matching REGEX.
function(hanvit_model_cli_fails name regex)
  add_test(NAME cli/model-${name}
           COMMAND sh -c "out=$(\"$0\" \"$@\" 2>&1); echo \"exit $?: $out\"" $<TARGET_FILE:hanvit> ${ARGN})
  set_tests_properties(cli/model-${name} PROPERTIES PASS_REGULAR_EXPRESSION "exit 1: ${regex}"
                       FIXTURES_REQUIRED cli_model_folder)
endfunction()

add_test(NAME cli/model-init
         COMMAND sh -c "set -e; w=$1; rm -rf $w/model $w/tokenizer; mkdir -p $w/tokenizer; cp $2/tokenizer/fixture.model $w/tokenizer/tokenizer.model
                        \"$0\" init --vision $2/fusion/configs/vision_clip_tiny.json --language $2/fusion/configs/language_llama_tiny.json --fusion gated:every=1,projector=mlp --tokenizer $w/tokenizer --seed 1 --out $w/model
                        ls $w/model | tr '\\n' ' '; echo"
                 $<TARGET_FILE:hanvit> ${model_work} ${model_data})
set_tests_properties(cli/model-init PROPERTIES FIXTURES_SETUP cli_model_folder PASS_REGULAR_EXPRESSION
  "wrote [^\n]*/model: [0-9]+ parameters \\(vision [0-9]+, language [0-9]+, fusion [0-9]+\\)\nconfig.json model.safetensors preprocessor_config.json tokenizer.model \n$")

# Two images, greedy, tab-separated lines in order; the same output twice.
add_test(NAME cli/model-caption
         COMMAND sh -c "set -e; a=$(\"$0\" caption --model $1 $2 $3 --max-tokens 6); b=$(\"$0\" caption --model $1 $2 $3 --max-tokens 6)
                        test \"$a\" = \"$b\"; echo \"$a\""
                 $<TARGET_FILE:hanvit> ${model_dir} ${model_image} ${model_data}/image/tall_120x333.png)
set_tests_properties(cli/model-caption PROPERTIES FIXTURES_REQUIRED cli_model_folder PASS_REGULAR_EXPRESSION
  "^[^\n]*/rgb_300x199.png\t[^\n]+\n[^\n]*/tall_120x333.png\t[^\n]+\n$")

add_test(NAME cli/model-caption-beam-json
         COMMAND hanvit caption --model ${model_dir} ${model_image} --beam 3 --max-tokens 5 --json)
set_tests_properties(cli/model-caption-beam-json PROPERTIES FIXTURES_REQUIRED cli_model_folder PASS_REGULAR_EXPRESSION
  "^\\{\"caption\":\"[^\n]*\",\"image\":\"[^\n]*/rgb_300x199.png\"\\}\n$")

add_test(NAME cli/model-vqa-json
         COMMAND hanvit vqa --model ${model_dir} ${model_image} "빨간 원은 몇 개야?" --json --temperature 0.8 --top-p 0.9 --seed 4)
set_tests_properties(cli/model-vqa-json PROPERTIES FIXTURES_REQUIRED cli_model_folder PASS_REGULAR_EXPRESSION
  "^\\{\"answer\":\"[^\n]*\",\"image\":\"[^\n]*/rgb_300x199.png\",\"question\":\"빨간 원은 몇 개야\\?\"\\}\n$")

# A VQA JSONL set with image paths relative to the file: one line per record, in order.
add_test(NAME cli/model-vqa-input
         COMMAND sh -c "set -e; w=$1/vqa-input; rm -rf $w; mkdir -p $w; cp $2 $w/a.png
                        printf '{\"image\": \"a.png\", \"question\": \"무엇이 있어?\", \"answer\": \"원\"}\\n{\"image\": \"a.png\", \"question\": \"몇 개야?\", \"answer\": \"두 개\"}\\n' > $w/set.jsonl
                        \"$0\" vqa --model $1/model --input $w/set.jsonl --json --batch 2 --max-tokens 4"
                 $<TARGET_FILE:hanvit> ${model_work} ${model_image})
set_tests_properties(cli/model-vqa-input PROPERTIES FIXTURES_REQUIRED cli_model_folder PASS_REGULAR_EXPRESSION
  "^\\{[^\n]*\"question\":\"무엇이 있어\\?\"\\}\n\\{[^\n]*\"question\":\"몇 개야\\?\"\\}\n$")

# --attention-map writes a PNG whose size grows with the number of words.
add_test(NAME cli/model-attention-map
         COMMAND sh -c "set -e; w=$1/map; rm -rf $w; mkdir -p $w
                        \"$0\" caption --model $1/model $2 --max-tokens 8 --attention-map $w/map.png
                        head -c 8 $w/map.png | od -An -c | tr -d ' \\n'; echo"
                 $<TARGET_FILE:hanvit> ${model_work} ${model_image})
set_tests_properties(cli/model-attention-map PROPERTIES FIXTURES_REQUIRED cli_model_folder PASS_REGULAR_EXPRESSION
  "attention map of [^\n]*: [^\n]*/map.png\n.*211PNG\\\\r\\\\n032\\\\n")

add_test(NAME cli/model-bad-image-prepare
         COMMAND sh -c "mkdir -p $0 && printf 'not an image' > $0/broken.jpg" ${model_work}/bad-image)
set_tests_properties(cli/model-bad-image-prepare PROPERTIES FIXTURES_SETUP cli_model_bad_image)
hanvit_model_cli_fails(bad-image "hanvit: error: image '[^\n]*/broken.jpg': [^\n]+\n$"
  caption --model ${model_dir} ${model_work}/bad-image/broken.jpg)
set_tests_properties(cli/model-bad-image PROPERTIES FIXTURES_REQUIRED "cli_model_folder;cli_model_bad_image")
hanvit_model_cli_fails(missing-image "hanvit: error: image '[^\n]*/absent.png': [^\n]+\n$"
  caption --model ${model_dir} ${model_work}/absent.png)
hanvit_model_cli_fails(missing-model "hanvit: error: model '[^\n]*/no-such-model': not a folder\n$"
  caption --model ${model_work}/no-such-model ${model_image})
hanvit_model_cli_fails(prompt-too-long "hanvit: error: the prompt of [^\n]* is [0-9]+ tokens; the model's context is 64\n$"
  vqa --model ${model_dir} ${model_image}
  "빨간 원과 파란 네모와 노란 세모와 초록 별과 보라 하트가 왼쪽 위와 오른쪽 아래와 가운데에 몇 개씩 어떤 크기로 어떻게 놓여 있는지 하나도 빠짐없이 아주 자세하게 차례대로 모두 말해 줄래?")
hanvit_model_cli_fails(vqa-without-question "hanvit: error: hanvit vqa takes IMAGE \"QUESTION\" \\(or --input FILE\\)\n$"
  vqa --model ${model_dir} ${model_image})
hanvit_model_cli_fails(init-bad-fusion "hanvit: error: fusion spec 'gated:every=0': every must be at least 1\n$"
  init --vision ${model_data}/fusion/configs/vision_clip_tiny.json --language ${model_data}/fusion/configs/language_llama_tiny.json
  --fusion gated:every=0 --out ${model_work}/never)
hanvit_model_cli_fails(init-missing-language "hanvit: error: language '[^\n]*/absent.json': neither a model folder nor a config.json file\n$"
  init --vision ${model_data}/fusion/configs/vision_clip_tiny.json --language ${model_work}/absent.json
  --out ${model_work}/never)
