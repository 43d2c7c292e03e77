# Command-line tests of `hanvit eval`: JSON keys and values on the metrics fixture (captions, --char, VQA), the text
# table, --out, a missing --ref file, a malformed line with and without --strict, and unmatched records. Each ends
# with "exit=<status>" so the regular expression checks the status as well as the output.
set(_eval_data ${CMAKE_CURRENT_SOURCE_DIR}/data/metrics)
set(_eval "$<TARGET_FILE:hanvit> eval")
set(_eval_tmp ${CMAKE_CURRENT_BINARY_DIR}/cli_eval)
set(_eval_captions "--pred ${_eval_data}/caption_pred.jsonl --ref ${_eval_data}/caption_ref.jsonl")

add_test(NAME cli/eval-caption-json COMMAND sh -c "${_eval} ${_eval_captions} --json 2>/dev/null; echo exit=$?")
set_tests_properties(cli/eval-caption-json PROPERTIES PASS_REGULAR_EXPRESSION
  "^\\{\"bleu4\":64\\.7570936957[0-9]*,\"cider_d\":3\\.0251802817[0-9]*,\"count\":30,\"rouge_l\":0\\.6525397980[0-9]*,\"task\":\"caption\",\"tokens\":\"whitespace\",\"unmatched_predictions\":0,\"unmatched_references\":0\\}\nexit=0\n$")

add_test(NAME cli/eval-caption-char COMMAND sh -c "${_eval} ${_eval_captions} --char --json 2>/dev/null; echo exit=$?")
set_tests_properties(cli/eval-caption-char PROPERTIES PASS_REGULAR_EXPRESSION
  "^\\{\"bleu4\":75\\.4580329130[0-9]*,\"cider_d\":3\\.9853507284[0-9]*,\"count\":30,\"rouge_l\":0\\.7209167231[0-9]*,\"task\":\"caption\",\"tokens\":\"char\",")

add_test(NAME cli/eval-vqa-json COMMAND sh -c
  "${_eval} --pred ${_eval_data}/vqa_pred.jsonl --ref ${_eval_data}/vqa_ref.jsonl --json 2>/dev/null; echo exit=$?")
set_tests_properties(cli/eval-vqa-json PROPERTIES PASS_REGULAR_EXPRESSION
  "^\\{\"count\":30,\"exact_match\":56\\.66666666[0-9]*,\"task\":\"vqa\",\"unmatched_predictions\":0,\"unmatched_references\":0,\"vqa_accuracy\":80\\.33333333[0-9]*\\}\nexit=0\n$")

add_test(NAME cli/eval-table COMMAND sh -c "${_eval} ${_eval_captions} 2>&1; echo exit=$?")
set_tests_properties(cli/eval-table PROPERTIES PASS_REGULAR_EXPRESSION
  "hanvit eval: predictions [^\n]*caption_pred.jsonl: 30 records read, 0 skipped\nhanvit eval: references [^\n]*caption_ref.jsonl: 53 records read, 0 skipped\ntask +caption\ntokens +whitespace\ncount +30\nBLEU-4 +64\\.7571\nCIDEr-D +3\\.0252\nROUGE-L +0\\.6525\nexit=0\n$")

add_test(NAME cli/eval-out COMMAND sh -c
  "mkdir -p ${_eval_tmp} && rm -f ${_eval_tmp}/report.json && ${_eval} ${_eval_captions} --out ${_eval_tmp}/report.json >/dev/null 2>&1; echo exit=$?; cat ${_eval_tmp}/report.json; ls ${_eval_tmp} | grep -c tmp")
set_tests_properties(cli/eval-out PROPERTIES PASS_REGULAR_EXPRESSION
  "^exit=0\n\\{\"bleu4\":64\\.757[0-9]*,\"cider_d\":3\\.025[0-9]*,\"count\":30,\"rouge_l\":0\\.652[^\n]*\\}\n0\n$")

add_test(NAME cli/eval-missing-ref COMMAND sh -c
  "mkdir -p ${_eval_tmp} && echo old > ${_eval_tmp}/kept.json && ${_eval} --pred ${_eval_data}/caption_pred.jsonl --ref /nonexistent/ref.jsonl --out ${_eval_tmp}/kept.json 2>&1 | grep hanvit:; echo exit=$?; cat ${_eval_tmp}/kept.json")
set_tests_properties(cli/eval-missing-ref PROPERTIES PASS_REGULAR_EXPRESSION
  "^hanvit: error: /nonexistent/ref.jsonl: cannot open\nexit=0\nold\n$")

add_test(NAME cli/eval-missing-ref-status COMMAND sh -c
  "${_eval} --pred ${_eval_data}/caption_pred.jsonl --ref /nonexistent/ref.jsonl 2>/dev/null; echo exit=$?")
set_tests_properties(cli/eval-missing-ref-status PROPERTIES PASS_REGULAR_EXPRESSION "^exit=1\n$")

# A prediction file with a malformed line appended: skipped and counted, or the error under --strict.
# Each test writes its own copy (CTest runs them in parallel): @NAME@ is the test's file name.
set(_eval_bad "mkdir -p ${_eval_tmp} && cp ${_eval_data}/caption_pred.jsonl ${_eval_tmp}/@NAME@.jsonl && printf '{\"image\": 1,\\n' >> ${_eval_tmp}/@NAME@.jsonl && ${_eval} --pred ${_eval_tmp}/@NAME@.jsonl --ref ${_eval_data}/caption_ref.jsonl --json")
string(REPLACE "@NAME@" "bad_pred" _eval_bad_lenient "${_eval_bad}")
string(REPLACE "@NAME@" "bad_pred_strict" _eval_bad_strict "${_eval_bad}")
string(REPLACE "@NAME@" "bad_pred_status" _eval_bad_status "${_eval_bad}")
add_test(NAME cli/eval-malformed-line COMMAND sh -c "${_eval_bad_lenient} 2>&1; echo exit=$?")
set_tests_properties(cli/eval-malformed-line PROPERTIES PASS_REGULAR_EXPRESSION
  "^hanvit eval: skipped [^\n]*/bad_pred.jsonl:31: not valid JSON\nhanvit eval: predictions [^\n]*/bad_pred.jsonl: 31 records read, 1 skipped, first: [^\n]*\nhanvit eval: references [^\n]*\n\\{\"bleu4\":64\\.757[^\n]*\"count\":30,[^\n]*\\}\nexit=0\n$")
add_test(NAME cli/eval-malformed-line-strict COMMAND sh -c "${_eval_bad_strict} --strict 2>&1 | grep -v '^hanvit eval:'; echo exit=$?")
set_tests_properties(cli/eval-malformed-line-strict PROPERTIES PASS_REGULAR_EXPRESSION
  "^hanvit: error: [^\n]*/bad_pred_strict.jsonl:31: not valid JSON\nexit=0\n$")
add_test(NAME cli/eval-malformed-line-strict-status COMMAND sh -c "${_eval_bad_status} --strict >/dev/null 2>&1; echo exit=$?")
set_tests_properties(cli/eval-malformed-line-strict-status PROPERTIES PASS_REGULAR_EXPRESSION "^exit=1\n$")

# Predictions for half the VQA questions: the other references are reported and counted, an error under --strict.
set(_eval_half "mkdir -p ${_eval_tmp} && head -n 15 ${_eval_data}/vqa_pred.jsonl > ${_eval_tmp}/@NAME@.jsonl && ${_eval} --pred ${_eval_tmp}/@NAME@.jsonl --ref ${_eval_data}/vqa_ref.jsonl --json")
string(REPLACE "@NAME@" "half_pred" _eval_half_lenient "${_eval_half}")
string(REPLACE "@NAME@" "half_pred_strict" _eval_half_strict "${_eval_half}")
add_test(NAME cli/eval-unmatched COMMAND sh -c "${_eval_half_lenient} 2>&1; echo exit=$?")
set_tests_properties(cli/eval-unmatched PROPERTIES PASS_REGULAR_EXPRESSION
  "hanvit eval: [^\n]*/vqa_ref.jsonl:16: no prediction for image 'images/0016.png', question 'What sport is this\\?' in [^\n]*/half_pred.jsonl\n(hanvit eval: [^\n]*\n)+hanvit eval: 15 references without a prediction not scored\n\\{\"count\":15,[^\n]*\"unmatched_references\":15,[^\n]*\\}\nexit=0\n$")
add_test(NAME cli/eval-unmatched-strict COMMAND sh -c "${_eval_half_strict} --strict 2>&1 | grep -v '^hanvit eval:'; echo exit=$?")
set_tests_properties(cli/eval-unmatched-strict PROPERTIES PASS_REGULAR_EXPRESSION
  "^hanvit: error: [^\n]*/vqa_ref.jsonl:16: no prediction for image 'images/0016.png', question 'What sport is this\\?' in [^\n]*/half_pred_strict.jsonl\nexit=0\n$")

add_test(NAME cli/eval-char-on-vqa COMMAND sh -c
  "${_eval} --pred ${_eval_data}/vqa_pred.jsonl --ref ${_eval_data}/vqa_ref.jsonl --char 2>&1 | grep -v '^hanvit eval:'; echo exit=$?")
set_tests_properties(cli/eval-char-on-vqa PROPERTIES PASS_REGULAR_EXPRESSION
  "^hanvit: error: --char applies to caption metrics only, but [^\n]*/vqa_pred.jsonl holds VQA predictions\nexit=0\n$")
