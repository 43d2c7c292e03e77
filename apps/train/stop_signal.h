// SIGINT / SIGTERM during training: the first one asks the loop to save a checkpoint and stop.
#pragma once

namespace hanvit::app {

// Installs handlers for SIGINT and SIGTERM that set the stop request (a second signal while the
// request is pending ends the process at once with the usual status).
void install_stop_handlers();
// Whether a stop was requested since the handlers were installed.
bool stop_requested();
// Requests a stop as a signal would (tests).
void request_stop();
// Forgets a pending request (a new run starts).
void clear_stop_request();

}  // namespace hanvit::app
