# Command-line tests of `hanvit plot`: the PNGs written for a run's metrics.jsonl (one per metric, printed
# one per line), --out, a torn last line accepted, and a one-line error for each bad input.
set(plot_work ${CMAKE_CURRENT_BINARY_DIR}/cli_plot)

# Runs `hanvit plot WORK/run ARGS...` in the fresh folder WORK = cli_plot/NAME after writing
# WORK/run/metrics.jsonl as printf renders LINES (no file when LINES is "none"). Prints "exit STATUS: OUTPUT",
# then "png PATH SIGNATURE" with the first 8 bytes of each printed .png path (od -c), then the run folder's files.
function(hanvit_plot_cli name lines regex)
  add_test(NAME cli/plot-${name}
           COMMAND sh -c "w=$1; rm -rf $w; mkdir -p $w/run; test \"$2\" = none || printf \"$2\" > $w/run/metrics.jsonl
                          shift 2; out=$(\"$0\" plot $w/run \"$@\" 2>&1); echo \"exit $?: $out\"
                          echo \"$out\" | grep '\\.png$' | while read -r p; do printf 'png %s %s\\n' $p \"$(head -c 8 $p | od -An -c | tr -d ' \\n')\"; done
                          echo \"run: $(ls $w/run | tr '\\n' ' ')\""
                   $<TARGET_FILE:hanvit> ${plot_work}/${name} "${lines}" ${ARGN})
  set_tests_properties(cli/plot-${name} PROPERTIES PASS_REGULAR_EXPRESSION "${regex}")
endfunction()

set(plot_signature "211PNG\\\\r\\\\n032\\\\n")

# Train loss and lr, validation loss and VQA accuracy (one lr not finite): loss first, then by name.
hanvit_plot_cli(run
  "{\"step\":0,\"split\":\"train\",\"loss\":4.5,\"lr\":0.0}\\n{\"step\":10,\"split\":\"train\",\"loss\":3.25,\"lr\":null}\\n{\"step\":10,\"split\":\"val\",\"loss\":3.5,\"vqa_accuracy\":0.25}\\n{\"step\":20,\"split\":\"train\",\"loss\":2.75,\"lr\":0.0003}\\n{\"step\":20,\"split\":\"val\",\"loss\":3.0,\"vqa_accuracy\":0.5}\\n"
  "^exit 0: [^\n]*/run/run/loss.png\n[^\n]*/run/run/lr.png\n[^\n]*/run/run/vqa_accuracy.png\npng [^\n]*/loss.png ${plot_signature}\npng [^\n]*/lr.png ${plot_signature}\npng [^\n]*/vqa_accuracy.png ${plot_signature}\nrun: loss.png lr.png metrics.jsonl vqa_accuracy.png \n$")

# A run killed mid-write leaves a torn last line: the records before it are plotted.
hanvit_plot_cli(torn-last-line
  "{\"step\":1,\"split\":\"train\",\"loss\":2.0}\\n{\"step\":2,\"split\":\"train\",\"loss\":1.5}\\n{\"step\":3,\"spl"
  "^exit 0: [^\n]*/run/loss.png\npng [^\n]*/loss.png ${plot_signature}\nrun: loss.png metrics.jsonl \n$")

# --out: the PNGs go to a new folder, none into the run folder.
hanvit_plot_cli(out
  "{\"step\":5,\"split\":\"val\",\"cider_d\":0.75}\\n"
  "^exit 0: [^\n]*/out/plots/cider_d.png\npng [^\n]*/out/plots/cider_d.png ${plot_signature}\nrun: metrics.jsonl \n$"
  --out ${plot_work}/out/plots)

hanvit_plot_cli(malformed-line
  "{\"step\":1,\"split\":\"train\",\"loss\":2.0}\\n{\"step\":2,\"loss\":1.5}\\n{\"step\":3,\"split\":\"train\",\"loss\":1.0}\\n"
  "^exit 1: hanvit: error: [^\n]*/run/metrics.jsonl:2: 'split' is missing\nrun: metrics.jsonl \n$")

hanvit_plot_cli(not-a-number
  "{\"step\":1,\"split\":\"train\",\"loss\":\"low\"}\\n{\"step\":2,\"split\":\"train\",\"loss\":1.5}\\n"
  "^exit 1: hanvit: error: [^\n]*/run/metrics.jsonl:1: metric 'loss' is not a number: \"low\"\nrun: metrics.jsonl \n$")

hanvit_plot_cli(no-numeric-metrics
  "{\"step\":1,\"split\":\"train\",\"loss\":null}\\n"
  "^exit 1: hanvit: error: metrics file '[^\n]*/run/metrics.jsonl' has no numeric metrics to plot\nrun: metrics.jsonl \n$")

hanvit_plot_cli(missing-file none
  "^exit 1: hanvit: error: metrics file '[^\n]*/run/metrics.jsonl' is missing\nrun: \n$")

add_test(NAME cli/plot-missing-folder
         COMMAND sh -c "out=$(\"$0\" plot $1 2>&1); echo \"exit $?: $out\"" $<TARGET_FILE:hanvit> ${plot_work}/absent)
set_tests_properties(cli/plot-missing-folder PROPERTIES PASS_REGULAR_EXPRESSION
  "^exit 1: hanvit: error: run folder '[^\n]*/cli_plot/absent': not a folder\n$")
