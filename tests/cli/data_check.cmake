# Command-line tests of `hanvit data check`: per-file counts and first reasons, format detection, --image-root and
# --language, --decode, and exit status 1 with one line under --strict or for a bad argument. Each ends with
# "exit=<status>" so the regular expression checks the status as well as the output.
set(_check_data ${CMAKE_CURRENT_SOURCE_DIR}/data/formats)
set(_check "$<TARGET_FILE:hanvit> data check")

add_test(NAME cli/data-check-report COMMAND sh -c
  "${_check} ${_check_data}/captions_bad.jsonl --decode 2>&1; echo exit=$?")
set_tests_properties(cli/data-check-report PROPERTIES PASS_REGULAR_EXPRESSION
  "^[^\n]*/captions_bad.jsonl \\(caption-jsonl\\): 11 records read, 9 skipped\n  [^\n]*/captions_bad.jsonl:2: not valid JSON\n  [^\n]*/captions_bad.jsonl:3: missing field 'caption'\n.*  [^\n]*/captions_bad.jsonl:7: image not found: [^\n]*/images/missing.png\n.*  1 images decoded, 1 undecodable\n  [^\n]*/images/broken.png: cannot decode the image \\(sample [^\n]*/captions_bad.jsonl:11\\)\nexit=0\n$")

add_test(NAME cli/data-check-detects-formats COMMAND sh -c
  "cd ${_check_data} && ${_check} vqa.jsonl coco_ko.json coco_aihub.json llava.json 2>&1; echo exit=$?")
set_tests_properties(cli/data-check-detects-formats PROPERTIES PASS_REGULAR_EXPRESSION
  "^vqa.jsonl \\(vqa-jsonl\\): 3 records read, 0 skipped\ncoco_ko.json \\(coco-captions\\): 3 records read, 0 skipped\ncoco_aihub.json \\(coco-captions\\): 5 records read, 3 skipped\n  coco_aihub.json: \\[2\\]: image not found: [^\n]*\n  coco_aihub.json: \\[3\\]: missing field 'file_path'\n  coco_aihub.json: \\[4\\]: 'captions' is empty\nllava.json \\(llava\\): 2 records read, 0 skipped\nexit=0\n$")

add_test(NAME cli/data-check-image-root COMMAND sh -c
  "cd ${_check_data} && ${_check} coco.json --format coco-captions --image-root images --language en --decode 2>&1; echo exit=$?")
set_tests_properties(cli/data-check-image-root PROPERTIES PASS_REGULAR_EXPRESSION
  "^coco.json \\(coco-captions\\): 3 records read, 1 skipped\n  coco.json: images\\[2\\]: no caption\n  2 images decoded, 0 undecodable\nexit=0\n$")

add_test(NAME cli/data-check-strict COMMAND sh -c
  "${_check} ${_check_data}/captions.jsonl ${_check_data}/captions_bad.jsonl --strict 2>&1; echo exit=$?")
set_tests_properties(cli/data-check-strict PROPERTIES PASS_REGULAR_EXPRESSION
  "^[^\n]*/captions.jsonl \\(caption-jsonl\\): 3 records read, 0 skipped\nhanvit: error: [^\n]*/captions_bad.jsonl:2: not valid JSON\nexit=1\n$")

add_test(NAME cli/data-check-strict-decode COMMAND sh -c
  "${_check} ${_check_data}/captions_broken_image.jsonl --strict --decode 2>&1; echo exit=$?")
set_tests_properties(cli/data-check-strict-decode PROPERTIES PASS_REGULAR_EXPRESSION
  "^[^\n]*/captions_broken_image.jsonl \\(caption-jsonl\\): 2 records read, 0 skipped\nhanvit: error: [^\n]*/images/broken.png: cannot decode the image \\(sample [^\n]*/captions_broken_image.jsonl:2\\)\nexit=1\n$")

add_test(NAME cli/data-check-invalid-utf8-file COMMAND sh -c
  "${_check} ${_check_data}/coco_invalid_utf8.json 2>&1; echo exit=$?")
set_tests_properties(cli/data-check-invalid-utf8-file PROPERTIES PASS_REGULAR_EXPRESSION
  "^hanvit: error: [^\n]*/coco_invalid_utf8.json: invalid UTF-8 at byte 36\nexit=1\n$")

add_test(NAME cli/data-check-missing-file COMMAND sh -c
  "${_check} /nonexistent/data.jsonl 2>&1; echo exit=$?")
set_tests_properties(cli/data-check-missing-file PROPERTIES PASS_REGULAR_EXPRESSION
  "^hanvit: error: /nonexistent/data.jsonl: cannot open\nexit=1\n$")

add_test(NAME cli/data-check-undetectable COMMAND sh -c
  "${_check} ${_check_data}/images/red.png 2>&1; echo exit=$?")
set_tests_properties(cli/data-check-undetectable PROPERTIES PASS_REGULAR_EXPRESSION
  "^hanvit: error: [^\n]*/red.png: cannot tell the dataset format \\(the extension is neither .jsonl nor .json\\); name one of caption-jsonl, coco-captions, vqa-jsonl, llava\nexit=1\n$")

add_test(NAME cli/data-check-unknown-format COMMAND sh -c
  "${_check} ${_check_data}/captions.jsonl --format csv 2>&1; echo exit=$?")
set_tests_properties(cli/data-check-unknown-format PROPERTIES PASS_REGULAR_EXPRESSION
  "^hanvit: error: unknown dataset format 'csv' \\(known: caption-jsonl, coco-captions, vqa-jsonl, llava\\)\nexit=1\n$")

add_test(NAME cli/data-check-bad-language COMMAND sh -c
  "${_check} ${_check_data}/coco_ko.json --language fr 2>&1; echo exit=$?")
set_tests_properties(cli/data-check-bad-language PROPERTIES PASS_REGULAR_EXPRESSION
  "--language: fr not in \\{[^\n]*\\}.*exit=[1-9][0-9]*\n$")

add_test(NAME cli/data-check-no-file COMMAND sh -c "${_check} 2>&1; echo exit=$?")
set_tests_properties(cli/data-check-no-file PROPERTIES PASS_REGULAR_EXPRESSION "files is required.*exit=[1-9][0-9]*\n$")
