# Command-line tests of `hanvit data synth`: a good run, a non-empty folder (refused, then replaced
# with --overwrite), a bad --size, no images at all, an unwritable --out. Each ends with "exit=<status>" so the
# regular expression checks the status as well as the message.
set(_synth_dir ${CMAKE_CURRENT_BINARY_DIR}/cli_data_synth)
set(_synth "$<TARGET_FILE:hanvit> data synth")

add_test(NAME cli/data-synth-run COMMAND sh -c
  "rm -rf ${_synth_dir}/run && ${_synth} --out ${_synth_dir}/run --train 12 --val 3 --test 2 --size 32 --seed 4 && test -f ${_synth_dir}/run/train/images/000011.png && test -f ${_synth_dir}/run/test/images/000001.png && wc -l < ${_synth_dir}/run/val/captions.jsonl; echo exit=$?")
set_tests_properties(cli/data-synth-run PROPERTIES PASS_REGULAR_EXPRESSION
  "^wrote 12 train, 3 val, 2 test images \\(32 px, seed 4; [0-9]+ questions\\) to [^\n]*/run in [0-9.]+ s\n3\nexit=0\n$")

add_test(NAME cli/data-synth-existing-folder COMMAND sh -c
  "rm -rf ${_synth_dir}/existing && mkdir -p ${_synth_dir}/existing/val && touch ${_synth_dir}/existing/val/keep && ${_synth} --out ${_synth_dir}/existing --train 2 --val 2 --test 2 2>&1; echo exit=$? && test ! -e ${_synth_dir}/existing/train && ${_synth} --out ${_synth_dir}/existing --train 2 --val 2 --test 2 --overwrite && test -f ${_synth_dir}/existing/val/keep && test -f ${_synth_dir}/existing/val/vqa.jsonl; echo exit=$?")
set_tests_properties(cli/data-synth-existing-folder PROPERTIES PASS_REGULAR_EXPRESSION
  "^hanvit: error: [^\n]*/existing/val: folder is not empty \\(pass --overwrite to replace it\\)\nexit=1\nwrote 2 train, 2 val, 2 test images[^\n]*\nexit=0\n$")

add_test(NAME cli/data-synth-bad-size COMMAND sh -c
  "${_synth} --out ${_synth_dir}/bad --size 16 2>&1; echo exit=$?")
set_tests_properties(cli/data-synth-bad-size PROPERTIES PASS_REGULAR_EXPRESSION
  "^hanvit: error: --size 16: must be between 24 and 2048 pixels\nexit=1\n$")

add_test(NAME cli/data-synth-no-images COMMAND sh -c
  "${_synth} --out ${_synth_dir}/none --train 0 --val 0 --test 0 2>&1; echo exit=$?")
set_tests_properties(cli/data-synth-no-images PROPERTIES PASS_REGULAR_EXPRESSION
  "^hanvit: error: --train, --val and --test are all 0: no images to write\nexit=1\n$")

add_test(NAME cli/data-synth-unwritable-out COMMAND sh -c
  "${_synth} --out /dev/null/synth --train 1 2>&1; echo exit=$?")
set_tests_properties(cli/data-synth-unwritable-out PROPERTIES PASS_REGULAR_EXPRESSION
  "^hanvit: error: --out: cannot create folder '/dev/null/synth/train/images': [^\n]+\nexit=1\n$")
