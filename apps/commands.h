// Registration of the hanvit subcommands on the CLI11 application.
#pragma once

#include <CLI/CLI.hpp>

namespace hanvit::app {

// Each adds its subcommand; the callback runs the command and throws on failure.
void add_info_command(CLI::App& app);

#ifdef HANVIT_WITH_DATA
// `hanvit data`, returned so that its subcommands can be added to it.
CLI::App& add_data_command(CLI::App& app);
void add_data_synth_command(CLI::App& data);  // `hanvit data synth`: the synthetic shapes dataset.
void add_data_check_command(CLI::App& data);  // `hanvit data check`: read dataset files, report bad records.
void add_tokenizer_command(CLI::App& app);  // `hanvit tokenizer`: train, encode, decode.
void add_eval_command(CLI::App& app);  // `hanvit eval`: caption and VQA metrics.
void add_init_command(CLI::App& app);     // `hanvit init`: compose a model folder.
void add_caption_command(CLI::App& app);  // `hanvit caption`: caption images.
void add_vqa_command(CLI::App& app);      // `hanvit vqa`: answer questions about images.
void add_plot_command(CLI::App& app);     // `hanvit plot`: PNG line plots of a run's metrics.jsonl.
void add_train_command(CLI::App& app);    // `hanvit train`: a training run from a config.
void add_demo_command(CLI::App& app);     // `hanvit demo`: synthetic data, tokenizer, training, evaluation, gallery.
#endif

}  // namespace hanvit::app
