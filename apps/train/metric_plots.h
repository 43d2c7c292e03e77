// PNG line plots of a training run's metrics.jsonl: `hanvit plot` and the demo's loss curve.
#pragma once

#include <string>
#include <vector>

namespace hanvit::app {

// Draws one PNG per metric of RUN_DIR/metrics.jsonl (loss first; a line per split) into `out`
// (default: the run folder; created when absent) and returns their paths. Throws
// std::invalid_argument naming a missing folder, an unreadable log or one without numeric metrics.
std::vector<std::string> write_metric_plots(const std::string& run_dir, const std::string& out = "");

}  // namespace hanvit::app
