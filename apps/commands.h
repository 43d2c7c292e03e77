// Registration of the hanvit subcommands on the CLI11 application.
#pragma once

#include <CLI/CLI.hpp>

namespace hanvit::app {

// Each adds its subcommand; the callback runs the command and throws on failure.
void add_info_command(CLI::App& app);

}  // namespace hanvit::app
