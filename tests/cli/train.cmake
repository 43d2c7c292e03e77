# Command-line tests of `hanvit train` and `hanvit demo`: a one-line error and a non-zero exit for each bad
# config, and a tiny demo run that writes every output the README lists.
set(train_work ${CMAKE_CURRENT_BINARY_DIR}/cli_train)

# Writes WORK/run.json as printf renders CONFIG, runs `hanvit train WORK/run.json ARGS...` and prints
# "exit STATUS: OUTPUT".
function(hanvit_train_cli name config regex)
  add_test(NAME cli/train-${name}
           COMMAND sh -c "w=$1; rm -rf $w; mkdir -p $w; printf \"$2\" > $w/run.json; shift 2
                          out=$(\"$0\" train $w/run.json --quiet \"$@\" 2>&1); echo \"exit $?: $out\""
                   $<TARGET_FILE:hanvit> ${train_work}/${name} "${config}" ${ARGN})
  set_tests_properties(cli/train-${name} PROPERTIES PASS_REGULAR_EXPRESSION "${regex}")
endfunction()

set(train_base "\"model\":\"m\",\"output\":\"o\",\"train_data\":[\"d.jsonl\"],\"steps\":1")
hanvit_train_cli(unknown-key "{${train_base},\"learning_rate\":0.1}"
  "^exit 1: hanvit: error: config '[^\n]*/run.json'.learning_rate: unknown key\n$")
hanvit_train_cli(wrong-type "{${train_base},\"batch_size\":\"big\"}"
  "^exit 1: hanvit: error: config '[^\n]*/run.json'.batch_size: must be an integer\n$")
hanvit_train_cli(override-unknown-key "{${train_base}}"
  "^exit 1: hanvit: error: config '[^\n]*/run.json'.optimizer.beta3: unknown key\n$" optimizer.beta3=0.5)
hanvit_train_cli(malformed-json "{${train_base},"
  "^exit 1: hanvit: error: config '[^\n]*/run.json' [^\n]*\n$")
hanvit_train_cli(missing-model "{${train_base}}"
  "^exit 1: hanvit: error: model 'm': not a folder\n$")
add_test(NAME cli/train-missing-config COMMAND hanvit train ${train_work}/nowhere.yaml)
set_tests_properties(cli/train-missing-config PROPERTIES PASS_REGULAR_EXPRESSION "config '[^\n]*nowhere.yaml': no such file"
                     WILL_FAIL FALSE)

# A tiny demo: every output file, a metrics.json with the keys the README names, and the table.
add_test(NAME cli/demo-tiny
         COMMAND sh -c "rm -rf $1; \"$0\" demo --out $1 --pretrain-steps 20 --steps 12 --batch 8 --train-images 160 --width 32 --layers 1 --vision-layers 1 --vocab 340 2>&1 &&
                        ls $1 | tr '\\n' ' ' && cat $1/metrics.json | tr -d ' \\n' && head -c 8 $1/contact_sheet.png | od -An -c | tr -d ' \\n'"
                 $<TARGET_FILE:hanvit> ${train_work}/demo)
set_tests_properties(cli/demo-tiny PROPERTIES TIMEOUT 300 PASS_REGULAR_EXPRESSION
  "vision pretraining: [^\n]*validation cells: shape [0-9.]+, colour [0-9.]+ correct.*VQA accuracy .*caption exact match .*CIDEr-D .*checkpoints [^\n]*configs contact_sheet.png data gallery.html [^\n]*init loss.png [^\n]*metrics.json metrics.jsonl model [^\n]*tokenizer [^\n]*\"bleu4\":[^\n]*\"caption_exact_match\":[^\n]*\"cider_d\":[^\n]*\"train_seconds\":[^\n]*\"vision_pretrain_seconds\":[^\n]*\"vqa_accuracy\":[^\n]*211PNG")
