// The list of backends available in this process.
#include "modules/backend/backend.h"

namespace hanvit {

std::vector<Backend*> available_backends() { return {&cpu_backend()}; }

}  // namespace hanvit
