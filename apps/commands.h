// Registration of the hanvit subcommands on the CLI11 application.
#pragma once

#include <CLI/CLI.hpp>

namespace hanvit::app {

// Each adds its subcommand; the callback runs the command and throws on failure.
void add_info_command(CLI::App& app);

#ifdef HANVIT_WITH_DATA
// `hanvit data`, returned so that its subcommands can be added to it.
CLI::App& add_data_command(CLI::App& app);
#endif

}  // namespace hanvit::app
